#include "libs/resolve/container_resolver.h"

#include <catch2/catch.hpp>

namespace switchyard::resolve {

const std::string kA = "aaaa1111" + std::string(56, '1');
const std::string kB = "aaaa2222" + std::string(56, '2');
const std::string kC = "cccc3333" + std::string(56, '3');

TEST_CASE("full id, name and unique prefix resolve across backends", "[resolve][unit]") {
  std::vector<Candidate> found = {{"hv", kA, "/web"}, {"vz", kC, "/db"}};
  CHECK(ResolveReference(kC, found)->backend == "vz");
  CHECK(ResolveReference("web", found)->id == kA);
  CHECK(ResolveReference("db", found)->backend == "vz");
  CHECK(ResolveReference("cccc", found)->id == kC);
}

TEST_CASE("a prefix matching containers in both VMs is ambiguous, as in dockerd", "[resolve][unit]") {
  std::vector<Candidate> found = {{"hv", kA, "/one"}, {"vz", kB, "/two"}};
  auto result = ResolveReference("aaaa", found);
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == absl::StatusCode::kInternal);
  CHECK(result.status().message() == "multiple IDs found with provided prefix: aaaa");
  CHECK(ResolveReference("aaaa1", found)->backend == "hv");
}

TEST_CASE("a name beats another container's id prefix", "[resolve][unit]") {
  // Container named "aaaa" in vz, and a container whose id starts with aaaa in hv.
  std::vector<Candidate> found = {{"hv", kA, "/x"}, {"vz", kC, "/aaaa"}};
  CHECK(ResolveReference("aaaa", found)->backend == "vz");
}

TEST_CASE("an unknown reference is dockerd's 404 text", "[resolve][unit]") {
  auto result = ResolveReference("nope", {});
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == absl::StatusCode::kNotFound);
  CHECK(result.status().message() == "No such container: nope");
  CHECK(ResolveReference("e1", {}, "exec instance").status().message() == "No such exec instance: e1");
}

}  // namespace switchyard::resolve
