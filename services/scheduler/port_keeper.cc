#include "services/scheduler/port_keeper.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include <spdlog/spdlog.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/http/api_target.h"
#include "libs/http/docker_error.h"
#include "libs/ports/port_spec.h"

namespace switchyard::scheduler {
namespace {

using json = nlohmann::json;
using switchyard::vmm::v1::PortFailure;
using switchyard::vmm::v1::SyncPortsRequest;

// Ports handed to a created container stay reserved this long for its start.
constexpr absl::Duration kAssignedHold = absl::Minutes(10);
// Only the events that change what a guest publishes.
constexpr char kEventsTarget[] =
    "/events?filters=%7B%22type%22%3A%5B%22container%22%5D%2C%22event%22%3A%5B%22start%22%2C%22die%22%2C"
    "%22destroy%22%5D%7D";

std::string Key(const ports::PortBinding& b) { return absl::StrCat(b.protocol, "/", b.host_port); }

std::string StripSlash(std::string name) {
  if (!name.empty() && name[0] == '/') name.erase(0, 1);
  return name;
}

bool IsV6Wildcard(const std::string& ip) { return ip == "::"; }

EngineReply ErrorReply(int status, const std::string& message) {
  EngineReply reply;
  reply.status = status;
  reply.headers.emplace_back("Content-Type", "application/json");
  reply.body = http::ErrorBody(message);
  return reply;
}

}  // namespace

std::pair<int, int> EphemeralPortRange() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int first = 0;
  int last = 0;
  if (in >> first >> last && first >= 1 && last <= 65535 && first <= last) return {first, last};
  return {49153, 65535};
}

PortKeeper::PortKeeper(std::vector<BackendClient*> backends, int first, int last)
    : backends_(std::move(backends)), first_(first), last_(last) {
  for (BackendClient* b : backends_) refresh_mu_[b->name()] = std::make_unique<absl::Mutex>();
}

PortKeeper::~PortKeeper() { Shutdown(); }

void PortKeeper::Run(absl::Duration resync) {
  for (BackendClient* b : backends_) threads_.emplace_back([this, b] { Watch(b); });
  threads_.emplace_back([this, resync] {
    for (int round = 1; !stop_.WaitForNotificationWithTimeout(resync); ++round) {
      for (BackendClient* b : backends_) {
        // A full re-read now and then; in between, the last set is re-sent
        // so that a restarted VM manager binds its listeners again.
        if (round % 5 == 0) {
          (void)Refresh(*b);
          continue;
        }
        std::optional<SyncPortsRequest> request;
        {
          absl::MutexLock lock(&mu_);
          auto it = last_sync_.find(b->name());
          if (it != last_sync_.end()) request = it->second;
        }
        if (request.has_value()) (void)b->SyncPorts(*request);
      }
    }
  });
}

void PortKeeper::Shutdown() {
  if (stopping_.exchange(true)) return;
  stop_.Notify();
  {
    absl::MutexLock lock(&watch_mu_);
    for (auto& context : watch_contexts_) context->TryCancel();
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void PortKeeper::Watch(BackendClient* backend) {
  while (!stopping_) {
    auto context = std::make_shared<grpc::ClientContext>();
    {
      absl::MutexLock lock(&watch_mu_);
      if (stopping_) return;
      watch_contexts_.push_back(context);
    }
    std::unique_ptr<EngineStream> stream = backend->OpenStream(*context);
    EngineFrame frame;
    auto* head = frame.mutable_request();
    head->set_method("GET");
    head->set_target(kEventsTarget);
    head->set_content_length(0);
    head->set_passive(true);  // a sleeping VM publishes nothing: no need to wake it
    if (stream->Write(frame)) stream->WritesDone();
    while (stream->Read(&frame)) {
      if (frame.has_response() && frame.response().status() != 200) break;
      // The stream opening (after an outage too) and each event re-read the guest.
      if (frame.has_response() || frame.has_data()) (void)Refresh(*backend);
    }
    (void)stream->Finish();
    {
      absl::MutexLock lock(&watch_mu_);
      std::erase(watch_contexts_, context);
    }
    if (stop_.WaitForNotificationWithTimeout(absl::Seconds(1))) return;
  }
}

bool PortKeeper::HostCanBind(const ports::PortBinding& binding) {
  const bool v6 = absl::StrContains(binding.host_ip, ':');
  const int type = binding.protocol == "udp" ? SOCK_DGRAM : SOCK_STREAM;
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  if (type == SOCK_STREAM) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  bool ok = false;
  if (v6) {
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(binding.host_port);
    ok = ::inet_pton(AF_INET6, binding.host_ip.c_str(), &addr.sin6_addr) == 1 &&
         ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  } else {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(binding.host_port);
    const std::string ip = binding.host_ip.empty() ? "0.0.0.0" : binding.host_ip;
    ok = ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) == 1 &&
         ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ::close(fd);
  return ok;
}

absl::Status PortKeeper::AssignHostPorts(json& spec, BackendClient& backend, const std::string& api_version) {
  json image_exposed = json::object();
  const auto host_config = spec.find("HostConfig");
  const bool publish_all = host_config != spec.end() && host_config->is_object() &&
                           host_config->contains("PublishAllPorts") && (*host_config)["PublishAllPorts"] == true;
  if (publish_all && spec.contains("Image") && spec["Image"].is_string()) {
    // -P publishes the image's EXPOSE ports too; without the image here the
    // create fails anyway and the client pulls and retries.
    const std::string target = http::BuildTarget(
        api_version, absl::StrCat("/images/", http::UrlEncode(spec["Image"].get<std::string>()), "/json"), "");
    absl::StatusOr<EngineReply> image = backend.Call("GET", target);
    if (image.ok() && image->status == 200) {
      json inspected = json::parse(image->body, nullptr, false);
      if (inspected.is_object() && inspected["Config"].is_object() &&
          inspected["Config"]["ExposedPorts"].is_object()) {
        image_exposed = inspected["Config"]["ExposedPorts"];
      }
    }
  }
  return ports::AssignHostPorts(
      spec, image_exposed, [&](const ports::PortBinding& binding, int first, int last) -> absl::StatusOr<int> {
        absl::MutexLock lock(&mu_);
        const absl::Time now = absl::Now();
        absl::erase_if(assigned_, [&](const auto& entry) { return now - entry.second > kAssignedHold; });
        const bool ranged = first != 0;
        int& cursor = cursor_[absl::StrCat(binding.protocol, ranged ? absl::StrCat(first, "-", last) : "")];
        absl::StatusOr<int> chosen = ports::ChooseFreePort(
            table_, binding, ranged ? first : first_, ranged ? last : last_, &cursor,
            [&](const ports::PortBinding& b) { return !assigned_.contains(Key(b)) && HostCanBind(b); });
        if (chosen.ok()) {
          ports::PortBinding taken = binding;
          taken.host_port = *chosen;
          assigned_[Key(taken)] = now;
        }
        return chosen;
      });
}

absl::StatusOr<EngineReply> PortKeeper::Start(BackendClient& backend, const std::string& target,
                                              const std::string& id) {
  const http::ApiTarget t = http::ParseTarget(target);
  absl::StatusOr<EngineReply> inspected =
      backend.Call("GET", http::BuildTarget(t.api_version, absl::StrCat("/containers/", id, "/json"), ""));
  std::vector<ports::PortBinding> requested;
  std::string name;
  if (inspected.ok() && inspected->status == 200) {
    json c = json::parse(inspected->body, nullptr, false);
    if (c.is_object()) {
      if (c.contains("HostConfig")) requested = ports::RequestedBindings(c["HostConfig"]);
      if (c.contains("Name") && c["Name"].is_string()) name = StripSlash(c["Name"].get<std::string>());
    }
  }
  std::erase_if(requested, [](const ports::PortBinding& b) { return b.host_port == 0; });
  if (requested.empty()) return backend.Call("POST", target);

  absl::MutexLock start_lock(&start_mu_);
  {
    absl::MutexLock lock(&mu_);
    for (const ports::PortBinding& b : requested) {
      if (std::optional<ports::Claim> held = table_.FindConflict(b, id)) {
        spdlog::info("container={} backend={} port={} refused: held by container={} backend={}", id.substr(0, 12),
                     backend.name(), ports::HostAddress(b), held->container_id.substr(0, 12), held->backend);
        // dockerd's own words for a port another container holds.
        return ErrorReply(500, absl::StrCat("driver failed programming external connectivity on endpoint ", name,
                                            " (", id, "): Bind for ", ports::HostAddress(b),
                                            " failed: port is already allocated"));
      }
    }
    std::vector<ports::Claim>& claims = pending_[id];
    for (const ports::PortBinding& b : requested) {
      claims.push_back({backend.name(), id, b});
      assigned_.erase(Key(b));
    }
  }
  absl::StatusOr<EngineReply> reply = backend.Call("POST", target);
  const bool started = reply.ok() && (reply->status == 204 || reply->status == 304);
  if (!started) {
    absl::MutexLock lock(&mu_);
    pending_.erase(id);
    return reply;
  }
  absl::StatusOr<std::vector<PortFailure>> failures = Refresh(backend);
  {
    absl::MutexLock lock(&mu_);
    pending_.erase(id);
  }
  if (!failures.ok()) {
    spdlog::warn("container={} backend={} started; its ports are not bound yet: {}", id.substr(0, 12),
                 backend.name(), failures.status().ToString());
    return reply;
  }
  for (const PortFailure& f : *failures) {
    if (f.port().container_id() != id || IsV6Wildcard(f.port().host_ip())) continue;
    // Something outside switchyard holds the host port: undo the start, as
    // dockerd fails a start whose proxy cannot listen.
    (void)backend.Call("POST", http::BuildTarget(t.api_version, absl::StrCat("/containers/", id, "/stop"), "t=0"));
    (void)Refresh(backend);
    return ErrorReply(500, absl::StrCat("driver failed programming external connectivity on endpoint ", name, " (",
                                        id, "): Error starting userland proxy: ", f.error()));
  }
  return reply;
}

absl::StatusOr<std::vector<PortFailure>> PortKeeper::Refresh(BackendClient& backend) {
  absl::MutexLock refresh_lock(refresh_mu_.at(backend.name()).get());
  absl::StatusOr<EngineReply> listed = backend.Call("GET", "/containers/json");
  if (!listed.ok()) return listed.status();
  if (listed->status != 200) return http::StatusFromDockerError(listed->status, listed->body);
  json rows = json::parse(listed->body, nullptr, false);
  if (!rows.is_array()) return absl::InternalError(absl::StrCat("backend ", backend.name(), ": bad container list"));
  std::vector<ports::Claim> published = ports::PublishedPorts(backend.name(), rows);

  SyncPortsRequest request;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, claims] : pending_) {
      const bool listed_already = std::any_of(published.begin(), published.end(),
                                              [&](const ports::Claim& c) { return c.container_id == id; });
      if (listed_already) continue;
      for (const ports::Claim& c : claims) {
        if (c.backend == backend.name()) published.push_back(c);
      }
    }
    std::vector<ports::Claim> kept;
    const std::vector<ports::Claim> all = table_.All();
    for (ports::Claim& c : published) {
      // A container the guest restarted by itself (restart policy) may find
      // its port taken meanwhile in the other VM: that VM keeps it.
      auto held = std::find_if(all.begin(), all.end(), [&](const ports::Claim& other) {
        return other.backend != backend.name() && ports::Collide(other.binding, c.binding);
      });
      if (held != all.end()) {
        spdlog::warn("container={} backend={} port={} not bound: held by container={} backend={}",
                     c.container_id.substr(0, 12), backend.name(), ports::HostAddress(c.binding),
                     held->container_id.substr(0, 12), held->backend);
        continue;
      }
      kept.push_back(std::move(c));
    }
    for (const ports::Claim& c : kept) {
      switchyard::vmm::v1::PublishedPort* p = request.add_ports();
      p->set_protocol(c.binding.protocol);
      p->set_host_ip(c.binding.host_ip);
      p->set_host_port(c.binding.host_port);
      p->set_guest_ip(c.binding.host_ip);
      p->set_guest_port(c.binding.host_port);
      p->set_container_id(c.container_id);
    }
    table_.SetBackend(backend.name(), std::move(kept));
    last_sync_[backend.name()] = request;
  }
  absl::StatusOr<switchyard::vmm::v1::SyncPortsResponse> synced = backend.SyncPorts(request);
  if (!synced.ok()) return synced.status();
  std::vector<PortFailure> failures(synced->failures().begin(), synced->failures().end());
  for (const PortFailure& f : failures) {
    if (IsV6Wildcard(f.port().host_ip())) continue;  // a host without IPv6
    spdlog::warn("container={} backend={} port={}/{} not bound: {}", f.port().container_id().substr(0, 12),
                 backend.name(), f.port().host_port(), f.port().protocol(), f.error());
  }
  return failures;
}

std::vector<ports::Claim> PortKeeper::Claims() {
  absl::MutexLock lock(&mu_);
  return table_.All();
}

}  // namespace switchyard::scheduler
