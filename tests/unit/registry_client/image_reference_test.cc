#include "libs/registry_client/image_reference.h"

#include <catch2/catch.hpp>
#include <string>

namespace switchyard::registry_client {
namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');

TEST_CASE("ParseReference normalizes like Docker", "[registry_client][unit]") {
  struct Row {
    std::string in, registry, repository, tag, digest, api_host, familiar;
  };
  const Row rows[] = {
      {"busybox", "docker.io", "library/busybox", "latest", "", "registry-1.docker.io", "busybox:latest"},
      {"busybox:1.36", "docker.io", "library/busybox", "1.36", "", "registry-1.docker.io", "busybox:1.36"},
      {"user/app", "docker.io", "user/app", "latest", "", "registry-1.docker.io", "user/app:latest"},
      {"docker.io/busybox", "docker.io", "library/busybox", "latest", "", "registry-1.docker.io", "busybox:latest"},
      {"index.docker.io/library/busybox", "docker.io", "library/busybox", "latest", "", "registry-1.docker.io",
       "busybox:latest"},
      {"127.0.0.1:5000/sy/busybox:1", "127.0.0.1:5000", "sy/busybox", "1", "", "127.0.0.1:5000",
       "127.0.0.1:5000/sy/busybox:1"},
      {"localhost/x", "localhost", "x", "latest", "", "localhost", "localhost/x:latest"},
      {"localhost:5000/a/b/c:v1.0-rc_1", "localhost:5000", "a/b/c", "v1.0-rc_1", "", "localhost:5000",
       "localhost:5000/a/b/c:v1.0-rc_1"},
      {"ghcr.io/org/img", "ghcr.io", "org/img", "latest", "", "ghcr.io", "ghcr.io/org/img:latest"},
      {"[::1]:5000/x", "[::1]:5000", "x", "latest", "", "[::1]:5000", "[::1]:5000/x:latest"},
      {"my_reg/a", "docker.io", "my_reg/a", "latest", "", "registry-1.docker.io", "my_reg/a:latest"},
      {"a__b-c--d/e", "docker.io", "a__b-c--d/e", "latest", "", "registry-1.docker.io", "a__b-c--d/e:latest"},
      {"busybox@" + kDigest, "docker.io", "library/busybox", "", kDigest, "registry-1.docker.io",
       "busybox@" + kDigest},
      {"busybox:1@" + kDigest, "docker.io", "library/busybox", "1", kDigest, "registry-1.docker.io",
       "busybox:1@" + kDigest},
      {"127.0.0.1:5000/x@" + kDigest, "127.0.0.1:5000", "x", "", kDigest, "127.0.0.1:5000",
       "127.0.0.1:5000/x@" + kDigest},
  };
  for (const Row& row : rows) {
    INFO(row.in);
    absl::StatusOr<ImageReference> ref = ParseReference(row.in);
    REQUIRE(ref.ok());
    CHECK(ref->registry == row.registry);
    CHECK(ref->repository == row.repository);
    CHECK(ref->tag == row.tag);
    CHECK(ref->digest == row.digest);
    CHECK(ref->ApiHost() == row.api_host);
    CHECK(ref->FamiliarString() == row.familiar);
    CHECK(ref->ManifestReference() == (row.digest.empty() ? row.tag : row.digest));
  }
}

TEST_CASE("ImageReference::ToString is the full normalized form", "[registry_client][unit]") {
  CHECK(ParseReference("busybox")->ToString() == "docker.io/library/busybox:latest");
  CHECK(ParseReference("127.0.0.1:5000/sy/busybox:1")->ToString() == "127.0.0.1:5000/sy/busybox:1");
  CHECK(ParseReference("x@" + kDigest)->ToString() == "docker.io/library/x@" + kDigest);
  CHECK(ParseReference("docker.io/library/a/b")->FamiliarName() == "library/a/b");
}

TEST_CASE("ParseReference refuses what dockerd refuses", "[registry_client][unit]") {
  struct Row {
    std::string in, message;
  };
  const Row rows[] = {
      {"", "invalid reference format"},
      {"Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"},
      {"sy/BusyBox:1", "invalid reference format: repository name (sy/BusyBox) must be lowercase"},
      {"127.0.0.1:5000/Sy/x", "invalid reference format: repository name (Sy/x) must be lowercase"},
      {"busy box", "invalid reference format"},
      {"busybox:", "invalid reference format"},
      {"busybox:-x", "invalid reference format"},
      {"busybox:" + std::string(129, 'a'), "invalid reference format"},
      {"/busybox", "invalid reference format"},
      {"busybox/", "invalid reference format"},
      {"a//b", "invalid reference format"},
      {"-a/b", "invalid reference format"},
      {"a/b-", "invalid reference format"},
      {"a/b$", "invalid reference format"},
      {"host:port/x", "invalid reference format"},
      {"-host.io/x", "invalid reference format"},
      {"a__b.c/e", "invalid reference format"},  // "a__b.c" is a domain, and not a valid one
      {"busybox@sha256:abc", "invalid reference format"},
      {"busybox@", "invalid reference format"},
      {"busybox@sha256:" + std::string(63, 'a'), "invalid checksum digest format"},
      {"busybox@md5:" + std::string(32, 'a'), "unsupported digest algorithm"},
      {std::string(64, 'a'),
       "invalid repository name (" + std::string(64, 'a') + "), cannot specify 64-byte hexadecimal strings"},
      {"x.io/" + std::string(260, 'a'), "repository name must not be more than 255 characters"},
  };
  for (const Row& row : rows) {
    INFO(row.in);
    absl::StatusOr<ImageReference> ref = ParseReference(row.in);
    REQUIRE_FALSE(ref.ok());
    CHECK(ref.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(ref.status().message()) == row.message);
  }
}

TEST_CASE("IsLoopbackRegistry", "[registry_client][unit]") {
  for (const char* yes : {"127.0.0.1", "127.0.0.1:5000", "127.1.2.3:80", "localhost", "localhost:5000",
                          "LOCALHOST", "[::1]", "[::1]:5000"}) {
    INFO(yes);
    CHECK(IsLoopbackRegistry(yes));
  }
  for (const char* no : {"docker.io", "10.0.0.1:5000", "128.0.0.1", "[::2]:5000", "localhost.example.com",
                         "127.0.0.1.example.com"}) {
    INFO(no);
    CHECK_FALSE(IsLoopbackRegistry(no));
  }
}

}  // namespace
}  // namespace switchyard::registry_client
