#include "libs/api_routes/route_table.h"

#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <regex>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

namespace switchyard::api_routes {
namespace {

const char kSpec[] = SWITCHYARD_SOURCE_DIR "/../shared/reference/docker-engine-api-v1.41.yaml";

// "/images/{name*}/json" and "/images/{name}/json" name one endpoint.
std::string Shape(absl::string_view pattern) {
  return std::regex_replace(std::string(pattern), std::regex("\\{[^}]*\\}"), "{}");
}

std::vector<std::string> Segments(absl::string_view path) {
  return absl::StrSplit(path.substr(1), '/', absl::SkipEmpty());
}

std::set<std::pair<std::string, std::string>> SpecEndpoints() {
  YAML::Node spec = YAML::LoadFile(kSpec);
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& path : spec["paths"]) {
    for (const auto& op : path.second) {
      std::string method = absl::AsciiStrToUpper(op.first.as<std::string>());
      if (method == "PARAMETERS") continue;
      out.emplace(method, Shape(path.first.as<std::string>()));
    }
  }
  return out;
}

std::set<std::pair<std::string, std::string>> TableEndpoints() {
  std::set<std::pair<std::string, std::string>> out;
  for (const RouteEntry& e : ApiRoutes().entries()) out.emplace(std::string(e.method), Shape(e.pattern));
  return out;
}

TEST_CASE("every endpoint of the API document has an explicit route", "[api_routes][unit]") {
  auto spec = SpecEndpoints();
  REQUIRE(spec.size() >= 100);  // the document was read, not an empty file
  auto table = TableEndpoints();
  for (const auto& [method, path] : spec) {
    INFO(method << " " << path);
    CHECK(table.count({method, path}) == 1);
  }
}

TEST_CASE("routes beyond the API document are dockerd's own, named here", "[api_routes][unit]") {
  // dockerd 20.10 serves these; the 1.41 document does not list them.
  const std::set<std::pair<std::string, std::string>> dockerd_extras = {
      {"POST", "/grpc"}, {"POST", "/build/cancel"}};
  auto spec = SpecEndpoints();
  for (const auto& endpoint : TableEndpoints()) {
    INFO(endpoint.first << " " << endpoint.second);
    CHECK((spec.count(endpoint) == 1 || dockerd_extras.count(endpoint) == 1));
  }
}

TEST_CASE("each endpoint is declared once", "[api_routes][unit]") {
  std::set<std::pair<std::string, std::string>> seen;
  for (const RouteEntry& e : ApiRoutes().entries()) {
    INFO(e.method << " " << e.pattern);
    CHECK(seen.emplace(std::string(e.method), Shape(e.pattern)).second);
  }
}

TEST_CASE("routes say why where the choice is a decision", "[api_routes][unit]") {
  for (const RouteEntry& e : ApiRoutes().entries()) {
    INFO(e.method << " " << e.pattern);
    CHECK((e.routing == Routing::kNativeOnly) == !e.why.empty());
    CHECK((e.routing == Routing::kFanOutMerge) == (e.merge != Merge::kNone));
    CHECK((e.merge == Merge::kPrune) == !e.merge_key.empty());
  }
}

TEST_CASE("a request finds its route and the object it names", "[api_routes][unit]") {
  struct Case {
    std::string method, path, handler, object;
  };
  const std::vector<Case> cases = {
      {"GET", "/containers/json", "ContainerList", ""},
      {"GET", "/containers/web/json", "ContainerInspect", "web"},
      {"POST", "/containers/prune", "ContainersPrune", ""},
      {"DELETE", "/containers/web", "ContainerDelete", "web"},
      {"DELETE", "/containers/web/db", "ContainerDelete", "web/db"},
      {"POST", "/commit", "ImageCommit", ""},
      {"GET", "/images/json", "ImageList", ""},
      {"GET", "/images/get", "ImageGetAll", ""},
      {"GET", "/images/localhost:5000/sy/busybox:1/json", "ImageInspect", "localhost:5000/sy/busybox:1"},
      {"GET", "/images/get/json", "ImageInspect", "get"},
      {"POST", "/images/a/b/tag", "ImageTag", "a/b"},
      {"DELETE", "/images/a/b/c", "ImageDelete", "a/b/c"},
      {"POST", "/exec/abc/start", "ExecStart", "abc"},
      {"GET", "/networks/front", "NetworkInspect", "front"},
      {"POST", "/networks/prune", "NetworksPrune", ""},
      {"GET", "/networks/a/connect", "NetworkInspect", "a/connect"},
      {"POST", "/networks/a/connect", "NetworkConnect", "a"},
      {"DELETE", "/volumes/a/b", "VolumeDelete", "a/b"},
      {"HEAD", "/_ping", "Ping", ""},
      {"HEAD", "/containers/web/archive", "ContainerArchiveInfo", "web"},
      {"POST", "/plugins/vieux/sshfs:latest/enable", "PluginEnable", "vieux/sshfs:latest"},
      {"GET", "/distribution/busybox/json", "DistributionInspect", "busybox"},
      {"POST", "/session", "Session", ""},
  };
  for (const auto& c : cases) {
    INFO(c.method << " " << c.path);
    auto match = ApiRoutes().Match(c.method, Segments(c.path));
    REQUIRE(match.ok());
    CHECK(match->entry->handler == c.handler);
    CHECK(match->Object() == c.object);
  }
}

TEST_CASE("what dockerd does not serve is its 404 page not found, whatever the method", "[api_routes][unit]") {
  // Each checked against dockerd 20.10: 404 {"message":"page not found"}.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"GET", "/nosuch"},           {"PUT", "/containers/json"}, {"POST", "/containers/json"},
      {"HEAD", "/version"},         {"GET", "/containers/foo/bar"}, {"GET", "/images/json/x/y/z"},
      {"GET", "/"},                 {"PATCH", "/containers/web/json"}, {"GET", "/containers"},
  };
  for (const auto& [method, path] : cases) {
    INFO(method << " " << path);
    auto match = ApiRoutes().Match(method, Segments(path));
    REQUIRE_FALSE(match.ok());
    CHECK(match.status().code() == absl::StatusCode::kNotFound);
    CHECK(match.status().message() == kPageNotFound);
  }
}

}  // namespace
}  // namespace switchyard::api_routes
