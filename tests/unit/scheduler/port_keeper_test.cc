// One host-port space over two fake VMs: a start that publishes a port the
// other VM holds gets dockerd's "port is already allocated", and its VM
// never sees the start.
#include "services/scheduler/port_keeper.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "tests/fakes/fake_backend_client.h"

namespace switchyard::scheduler {
namespace {

using nlohmann::json;

const char kA[] = "a100000000000000000000000000000000000000000000000000000000000001";
const char kB[] = "b200000000000000000000000000000000000000000000000000000000000002";

int Starts(FakeBackendClient& b, const std::string& id) {
  int n = 0;
  for (const auto& [m, t] : b.calls()) n += m == "POST" && absl::StrContains(t, std::string(id) + "/start");
  return n;
}

TEST_CASE("a host port one VM publishes is refused to the other, in dockerd's words", "[scheduler][unit]") {
  FakeBackendClient hv("hv", "x86_64"), vz("vz", "x86_64");
  // A in hv publishes 0.0.0.0:18080.
  hv.Answer("GET /containers/json", 200,
            json::array({{{"Id", kA}, {"Ports", json::array({{{"IP", "0.0.0.0"}, {"PrivatePort", 80},
                                                               {"PublicPort", 18080}, {"Type", "tcp"}}})}}})
                .dump());
  vz.Answer("GET /containers/json", 200, "[]");
  // B in vz asks for the same host port.
  const json b_inspect = {{"Id", kB},
                          {"Name", "/web"},
                          {"HostConfig", {{"PortBindings", {{"80/tcp", {{{"HostIp", ""}, {"HostPort", "18080"}}}}}}}}};
  vz.Answer(absl::StrCat("GET /v1.41/containers/", kB, "/json"), 200, b_inspect.dump());
  vz.Answer(absl::StrCat("POST /v1.41/containers/", kB, "/start"), 204, "");

  PortKeeper keeper({&hv, &vz}, 49153, 65535);
  REQUIRE(keeper.Refresh(hv).ok());
  auto refused = keeper.Start(vz, absl::StrCat("/v1.41/containers/", kB, "/start"), kB);
  REQUIRE(refused.ok());
  CHECK(refused->status == 500);
  CHECK(absl::StrContains(refused->body, "Bind for 0.0.0.0:18080 failed: port is already allocated"));
  CHECK(absl::StrContains(refused->body, "endpoint web"));
  CHECK(Starts(vz, kB) == 0);

  // Once A no longer publishes it, B starts.
  hv.Answer("GET /containers/json", 200, "[]");
  REQUIRE(keeper.Refresh(hv).ok());
  auto started = keeper.Start(vz, absl::StrCat("/v1.41/containers/", kB, "/start"), kB);
  REQUIRE(started.ok());
  CHECK(started->status == 204);
  CHECK(Starts(vz, kB) == 1);
}

}  // namespace
}  // namespace switchyard::scheduler
