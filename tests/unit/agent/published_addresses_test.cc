#include "guest-agent/published_addresses.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace switchyard::agent {
namespace {

using nlohmann::json;

// A record path in a fresh temp dir, removed with the dir when the test ends.
struct TempRecord {
  TempRecord() {
    REQUIRE(::mkdtemp(dir.data()) != nullptr);
    path = dir + "/published-addresses";
  }
  ~TempRecord() {
    ::unlink(path.c_str());
    ::unlink((path + ".tmp").c_str());
    ::rmdir(dir.c_str());
  }
  std::string dir = "/tmp/sy-unit-addrXXXXXX";
  std::string path;
};

TEST_CASE("SpecificHostIps takes the host IPs a create body publishes on, once each", "[agent]") {
  json body = json::parse(R"({
    "Image": "x",
    "HostConfig": {"PortBindings": {
      "80/tcp": [{"HostIp": "192.0.2.7", "HostPort": "8080"}, {"HostIp": "2001:db8::5", "HostPort": "8080"}],
      "81/tcp": [{"HostIp": "192.0.2.7", "HostPort": "8081"}],
      "82/tcp": [{"HostIp": "", "HostPort": "8082"}, {"HostIp": "0.0.0.0", "HostPort": "8083"},
                 {"HostIp": "::", "HostPort": "8084"}, {"HostIp": "127.0.0.1", "HostPort": "8085"},
                 {"HostIp": "127.3.4.5", "HostPort": "8086"}, {"HostIp": "::1", "HostPort": "8087"},
                 {"HostIp": "fe80::1", "HostPort": "8088"}, {"HostIp": "::ffff:192.0.2.9", "HostPort": "8089"},
                 {"HostIp": "not-an-ip", "HostPort": "8090"}, {"HostIp": 7}, {"HostPort": "8091"}, "junk"],
      "83/udp": "junk"
    }}})");
  CHECK(SpecificHostIps(body) == std::vector<std::string>{"192.0.2.7", "2001:db8::5"});
}

TEST_CASE("SpecificHostIps finds nothing in bodies without bindings or of the wrong shape", "[agent]") {
  CHECK(SpecificHostIps(json::parse(R"({"Image": "x"})")).empty());
  CHECK(SpecificHostIps(json::parse(R"({"HostConfig": null})")).empty());
  CHECK(SpecificHostIps(json::parse(R"({"HostConfig": {"PortBindings": null}})")).empty());
  CHECK(SpecificHostIps(json::parse(R"([1, 2])")).empty());
  CHECK(SpecificHostIps(json::parse("not json", nullptr, false)).empty());
}

TEST_CASE("PublishedAddresses owns each address, records it, and owns it again on restore", "[agent]") {
  TempRecord record;
  const std::string& path = record.path;
  std::vector<std::string> owned;
  auto owner = [&owned](const std::string& ip) {
    owned.push_back(ip);
    return absl::OkStatus();
  };
  {
    PublishedAddresses addresses(path, owner);
    REQUIRE(addresses.Ensure({"192.0.2.7", "2001:db8::5", "127.0.0.1", "0.0.0.0"}).ok());
    CHECK(owned == std::vector<std::string>{"192.0.2.7", "2001:db8::5"});
    REQUIRE(addresses.Ensure({"192.0.2.7"}).ok());  // owned again (it may have gone), recorded once
    CHECK(addresses.Recorded() == std::set<std::string>{"192.0.2.7", "2001:db8::5"});
  }
  owned.clear();
  PublishedAddresses after_reboot(path, owner);
  REQUIRE(after_reboot.Restore().ok());
  std::sort(owned.begin(), owned.end());
  CHECK(owned == std::vector<std::string>{"192.0.2.7", "2001:db8::5"});
}

TEST_CASE("PublishedAddresses records only what it could own, and reports the failure", "[agent]") {
  TempRecord record;
  const std::string& path = record.path;
  auto owner = [](const std::string& ip) {
    return ip == "192.0.2.8" ? absl::InternalError("no") : absl::OkStatus();
  };
  PublishedAddresses addresses(path, owner);
  absl::Status status = addresses.Ensure({"192.0.2.8", "192.0.2.9"});
  CHECK(status.code() == absl::StatusCode::kInternal);
  CHECK(addresses.Recorded() == std::set<std::string>{"192.0.2.9"});
}

TEST_CASE("PublishedAddresses ignores record lines that are not specific addresses", "[agent]") {
  TempRecord record;
  const std::string& path = record.path;
  {
    std::ofstream out(path);
    out << "192.0.2.10\n\ngarbage\n127.0.0.1\n  2001:db8::6  \n0.0.0.0\n";
  }
  std::vector<std::string> owned;
  PublishedAddresses addresses(path, [&owned](const std::string& ip) {
    owned.push_back(ip);
    return absl::OkStatus();
  });
  REQUIRE(addresses.Restore().ok());
  std::sort(owned.begin(), owned.end());
  CHECK(owned == std::vector<std::string>{"192.0.2.10", "2001:db8::6"});
}

TEST_CASE("PublishedAddresses restores nothing without a record", "[agent]") {
  bool called = false;
  PublishedAddresses addresses("/nonexistent-dir/published-addresses", [&called](const std::string&) {
    called = true;
    return absl::OkStatus();
  });
  CHECK(addresses.Restore().ok());
  CHECK_FALSE(called);
}

}  // namespace
}  // namespace switchyard::agent
