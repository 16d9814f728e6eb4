#include "libs/ports/port_spec.h"

#include <catch2/catch.hpp>

namespace switchyard::ports {
namespace {

using json = nlohmann::json;

TEST_CASE("port keys parse as Docker writes them", "[ports]") {
  CHECK(*ParsePortKey("80/tcp") == std::make_pair(80, std::string("tcp")));
  CHECK(*ParsePortKey("53/udp") == std::make_pair(53, std::string("udp")));
  CHECK(*ParsePortKey("80") == std::make_pair(80, std::string("tcp")));
  CHECK_FALSE(ParsePortKey("http/tcp").ok());
  CHECK_FALSE(ParsePortKey("70000/tcp").ok());
  CHECK_FALSE(ParsePortKey("80/icmp").ok());
}

TEST_CASE("requested bindings come from HostConfig.PortBindings", "[ports]") {
  json hc = json::parse(R"({"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"},
                                                        {"HostIp": "", "HostPort": ""}],
                                             "53/udp": [{"HostPort": "5353"}], "bad": [{}], "9/tcp": null}})");
  std::vector<PortBinding> got = RequestedBindings(hc);
  REQUIRE(got.size() == 3);
  CHECK(got[0] == PortBinding{"udp", "", 5353, 53});
  CHECK(got[1] == PortBinding{"tcp", "127.0.0.1", 8080, 80});
  CHECK(got[2] == PortBinding{"tcp", "", 0, 80});
  CHECK(RequestedBindings(json::parse(R"({"PortBindings": 5})")).empty());
  CHECK(RequestedBindings(json()).empty());
}

TEST_CASE("empty host ports, ranges and -P get ports from the one allocator", "[ports]") {
  json spec = json::parse(R"({"Image": "x", "ExposedPorts": {"7000/tcp": {}},
      "HostConfig": {"PublishAllPorts": true, "PortBindings": {
         "80/tcp": [{"HostIp": "", "HostPort": ""}, {"HostIp": "", "HostPort": "9000"}],
         "81/tcp": [{"HostIp": "", "HostPort": "8000-8010"}],
         "82/tcp": [{"HostIp": "", "HostPort": "x-y"}]}}})");
  json image_exposed = json::parse(R"({"53/udp": {}, "80/tcp": {}})");
  std::vector<std::tuple<std::string, int, int>> asked;
  int next = 50000;
  PortChooser choose = [&](const PortBinding& b, int first, int last) -> absl::StatusOr<int> {
    asked.emplace_back(b.protocol, first, last);
    return first != 0 ? first + 1 : next++;
  };
  REQUIRE(AssignHostPorts(spec, image_exposed, choose).ok());
  const json& pb = spec["HostConfig"]["PortBindings"];
  // Ports are handed out in key order: 53/udp, 7000/tcp, 80/tcp.
  CHECK(pb["80/tcp"][0]["HostPort"] == "50002");
  CHECK(pb["80/tcp"][1]["HostPort"] == "9000");   // explicit: untouched
  CHECK(pb["81/tcp"][0]["HostPort"] == "8001");   // within its range
  CHECK(pb["82/tcp"][0]["HostPort"] == "x-y");    // dockerd will reject it
  CHECK(pb["53/udp"][0]["HostPort"] == "50000");  // the image's EXPOSE, with -P
  CHECK(pb["7000/tcp"][0]["HostPort"] == "50001");
  CHECK(asked.size() == 4);
}

TEST_CASE("without -P exposed ports stay unpublished, and a chooser error stops the create", "[ports]") {
  json spec = json::parse(R"({"ExposedPorts": {"7000/tcp": {}}, "HostConfig": {"PortBindings": {
      "80/tcp": [{"HostIp": "", "HostPort": ""}]}}})");
  PortChooser none = [](const PortBinding&, int, int) -> absl::StatusOr<int> {
    return absl::ResourceExhaustedError("all ports are allocated");
  };
  REQUIRE(absl::IsResourceExhausted(AssignHostPorts(spec, json::object(), none)));
  json plain = json::parse(R"({"ExposedPorts": {"7000/tcp": {}}})");
  REQUIRE(AssignHostPorts(plain, json::object(), none).ok());
  CHECK_FALSE(plain["HostConfig"]["PortBindings"].contains("7000/tcp"));
}

TEST_CASE("published ports are read from container list rows", "[ports]") {
  json rows = json::parse(R"([{"Id": "abc", "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080,
      "Type": "tcp"}, {"PrivatePort": 443, "Type": "tcp"}, {"IP": "::", "PrivatePort": 53, "PublicPort": 5353,
      "Type": "udp"}]}, {"Id": "def", "Ports": []}, {"Ports": [{"PublicPort": 1}]}])");
  std::vector<Claim> got = PublishedPorts("hv", rows);
  REQUIRE(got.size() == 2);
  CHECK(got[0] == Claim{"hv", "abc", {"tcp", "0.0.0.0", 8080, 80}});
  CHECK(got[1] == Claim{"hv", "abc", {"udp", "::", 5353, 53}});
}

}  // namespace
}  // namespace switchyard::ports

namespace switchyard::ports {
namespace {

TEST_CASE("fields of the wrong type never throw; dockerd judges them", "[ports]") {
  nlohmann::json spec = nlohmann::json::parse(R"({"HostConfig": {"PublishAllPorts": "yes",
      "PortBindings": {"80/tcp": [{"HostIp": 5, "HostPort": 7}, 3]}}})");
  PortChooser choose = [](const PortBinding&, int, int) -> absl::StatusOr<int> { return 40000; };
  const nlohmann::json before = spec;
  REQUIRE_NOTHROW(AssignHostPorts(spec, nlohmann::json::object(), choose));
  CHECK(spec == before);
  REQUIRE_NOTHROW(RequestedBindings(spec["HostConfig"]));
  nlohmann::json rows = nlohmann::json::parse(R"([{"Id": "a", "Ports": [{"PublicPort": 1, "Type": 5, "IP": []}]}])");
  REQUIRE(PublishedPorts("hv", rows).size() == 1);
}

}  // namespace
}  // namespace switchyard::ports
