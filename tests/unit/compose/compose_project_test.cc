#include "libs/compose/compose_project.h"

#include <catch2/catch.hpp>

namespace switchyard::compose {

TEST_CASE("services with images, platforms and builds", "[compose][unit]") {
  auto services = ParseServices(R"(
version: "3.8"
services:
  web:
    image: 127.0.0.1:5000/sy/busybox
  legacy:
    image: 127.0.0.1:5000/sy/busybox-arm64
    platform: linux/arm64
  app:
    build: .
)", "compose.yml");
  REQUIRE(services.ok());
  REQUIRE(services->size() == 3);
  CHECK(services->at("web").image == "127.0.0.1:5000/sy/busybox");
  CHECK(services->at("legacy").platform == "linux/arm64");
  CHECK(services->at("app").built);
}

TEST_CASE("malformed compose files are clear errors naming the file", "[compose][unit]") {
  auto bad = ParseServices("services: [unclosed", "broken.yml");
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.status().message()).find("broken.yml") != std::string::npos);
  CHECK_FALSE(ParseServices("- a list", "x.yml").ok());
  CHECK_FALSE(ParseServices("services: 5", "x.yml").ok());
  CHECK(ReadServices({"/nonexistent/compose.yml"}).status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("config file label resolves against the working dir", "[compose][unit]") {
  CHECK(ConfigFiles("/a/docker-compose.yml,override.yml", "/a") ==
        std::vector<std::string>{"/a/docker-compose.yml", "/a/override.yml"});
}

}  // namespace switchyard::compose
