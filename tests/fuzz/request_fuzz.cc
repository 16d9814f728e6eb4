// libFuzzer target: what a Docker client sends that switchyard parses itself.
// One input is fed (1) to the gateway's HTTP request reader as the bytes of a
// connection, and (2) as a container create body to the JSON routing fields:
// port bindings, published ports and workload-group labels. Any crash, hang,
// sanitizer report or exception escaping is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/asio.hpp>
#include <nlohmann/json.hpp>

#include "libs/http/api_target.h"
#include "libs/ports/port_spec.h"
#include "services/gateway/http_connection.h"
#include "services/scheduler/group_ref.h"

namespace {

namespace asio = boost::asio;
using nlohmann::json;

void FeedHttp(const std::string& bytes) {
  asio::io_context io;
  switchyard::gateway::Socket client(io), server(io);
  asio::local::connect_pair(client, server);
  boost::system::error_code ec;
  asio::write(client, asio::buffer(bytes), ec);
  client.shutdown(asio::socket_base::shutdown_send, ec);
  switchyard::gateway::HttpConnection conn(std::move(server));
  switchyard::gateway::Request request;
  for (int i = 0; i < 8 && conn.ReadRequest(request); ++i) {
    (void)switchyard::http::QueryValue(request.api.query, "name");
    std::string body;
    if (!conn.ReadWholeBody(body, 1 << 16)) break;
  }
}

void FeedCreateBody(const std::string& bytes) {
  json spec = json::parse(bytes, nullptr, false);
  if (spec.is_discarded()) return;
  const json none;
  const json& host_config = spec.is_object() && spec.contains("HostConfig") ? spec["HostConfig"] : none;
  (void)switchyard::ports::RequestedBindings(host_config);
  (void)switchyard::ports::PublishedPorts("hv", spec);
  json assigned = spec;
  (void)switchyard::ports::AssignHostPorts(
      assigned, spec, [](const switchyard::ports::PortBinding&, int first, int) -> absl::StatusOr<int> {
        return first != 0 ? first : 40000;
      });
  (void)switchyard::scheduler::GroupRefFor(spec);
  (void)switchyard::http::ParseTarget(bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  FeedHttp(bytes);
  FeedCreateBody(bytes);
  return 0;
}
