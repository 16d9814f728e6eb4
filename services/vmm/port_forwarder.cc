#include "services/vmm/port_forwarder.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "libs/tunnel/sockets.h"
#include "services/vmm/host_listener.h"
#include "services/vmm/tcp_forward.h"
#include "services/vmm/udp_forward.h"
#include "spdlog/spdlog.h"

namespace switchyard::vmm {
namespace {

struct Wanted {
  tunnel::Protocol protocol;
  std::string bind_ip;
  std::string name;  // "tcp 0.0.0.0:8080": the key and the log name
  ForwardRoute route;
};

absl::StatusOr<Wanted> Normalize(const ForwardedPort& port) {
  Wanted w;
  auto protocol = tunnel::ParseProtocol(port.protocol.empty() ? "tcp" : port.protocol);
  if (!protocol.ok()) return protocol.status();
  w.protocol = *protocol;
  auto ip = HostBindAddress(port.host_ip);
  if (!ip.ok()) return ip.status();
  w.bind_ip = *ip;
  if (port.host_port < 1 || port.host_port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("invalid host port ", port.host_port));
  }
  if (port.guest_port < 1 || port.guest_port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("invalid guest port ", port.guest_port));
  }
  if (!port.guest_ip.empty() && !tunnel::MakeSockAddr(port.guest_ip, 0).ok()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid guest IP \"", port.guest_ip, "\""));
  }
  w.name = absl::StrCat(tunnel::ProtocolName(w.protocol), " ", tunnel::FormatHostPort(w.bind_ip, port.host_port));
  w.route = ForwardRoute{port.guest_ip, port.guest_port, port.container_id};
  return w;
}

std::string GuestName(const ForwardRoute& route) {
  return tunnel::FormatHostPort(route.guest_ip.empty() ? "0.0.0.0" : route.guest_ip, route.guest_port);
}

}  // namespace

PortForwarder::PortForwarder(std::string backend, tunnel::TunnelDialer dial, PortForwarderOptions options,
                             tunnel::HandoffDialer lend)
    : backend_(std::move(backend)),
      options_(options),
      context_{backend_,     std::move(dial), options.handshake_timeout, options.udp_idle_timeout,
               &connections_, std::move(lend)} {}

PortForwarder::~PortForwarder() { Shutdown(); }

SyncResult PortForwarder::Sync(const std::vector<ForwardedPort>& ports) {
  SyncResult result;
  absl::MutexLock lock(&mu_);
  // Failures are reported in the order of the request.
  std::vector<std::pair<const ForwardedPort*, std::string>> failed;
  std::vector<std::pair<Wanted, const ForwardedPort*>> wanted;
  absl::flat_hash_set<std::string> names;
  for (const ForwardedPort& port : ports) {
    absl::StatusOr<Wanted> w = Normalize(port);
    if (!w.ok()) {
      failed.emplace_back(&port, w.status().message());
      continue;
    }
    if (!names.insert(w->name).second) {
      // Docker's allocator wording for a host port given twice.
      failed.emplace_back(&port, absl::StrCat("Bind for ", tunnel::FormatHostPort(w->bind_ip, port.host_port),
                                              " failed: port is already allocated"));
      continue;
    }
    wanted.emplace_back(*std::move(w), &port);
  }

  // Close first: a port moving from 0.0.0.0 to 127.0.0.1 must be free.
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (names.contains(it->first)) {
      ++it;
      continue;
    }
    spdlog::info("vmm[{}] port {} container {}: unbound", backend_, it->first, ShortId(it->second.port.container_id));
    listeners_.erase(it++);
  }

  for (auto& [w, port] : wanted) {
    auto it = listeners_.find(w.name);
    if (it != listeners_.end()) {
      const ForwardedPort& had = it->second.port;
      ForwardRoute old_route{had.guest_ip, had.guest_port, had.container_id};
      if (!(old_route == w.route)) {
        it->second.listener->SetRoute(w.route);
        it->second.port = *port;
        spdlog::info("vmm[{}] port {} container {}: now to guest {}", backend_, w.name, ShortId(w.route.container_id),
                     GuestName(w.route));
      }
      continue;
    }
    if (shut_down_) {
      failed.emplace_back(port, "VM manager is shutting down");
      continue;
    }
    absl::StatusOr<int> fd = BindHostListener(w.protocol, w.bind_ip, port->host_port);
    if (!fd.ok()) {
      spdlog::warn("vmm[{}] port {} container {}: {}", backend_, w.name, ShortId(w.route.container_id),
                   std::string(fd.status().message()));
      failed.emplace_back(port, fd.status().message());
      continue;
    }
    std::unique_ptr<ForwardListener> listener;
    if (w.protocol == tunnel::Protocol::kTcp) {
      listener = std::make_unique<TcpForward>(*fd, w.name, w.route, context_);
    } else {
      listener = std::make_unique<UdpForward>(*fd, w.name, w.route, context_);
    }
    spdlog::info("vmm[{}] port {} container {}: bound, to guest {}", backend_, w.name, ShortId(w.route.container_id),
                 GuestName(w.route));
    listeners_.emplace(w.name, Entry{*port, std::move(listener)});
  }
  std::sort(failed.begin(), failed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [port, error] : failed) result.failures.push_back({*port, std::move(error)});
  result.bound = static_cast<int>(listeners_.size());
  return result;
}

void PortForwarder::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    if (!listeners_.empty()) spdlog::info("vmm[{}] closing {} port listeners", backend_, listeners_.size());
    listeners_.clear();
  }
  connections_.StopAll();
}

}  // namespace switchyard::vmm
