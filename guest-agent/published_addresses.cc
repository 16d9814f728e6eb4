#include "guest-agent/published_addresses.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "guest-agent/interface_address.h"
#include "spdlog/spdlog.h"

namespace switchyard::agent {
namespace {

using nlohmann::json;

// A literal the guest cannot already be relied on to have.
bool IsSpecific(const std::string& ip) {
  in_addr v4{};
  if (::inet_pton(AF_INET, ip.c_str(), &v4) == 1) {
    const uint32_t host_order = ntohl(v4.s_addr);
    return host_order != INADDR_ANY && (host_order >> 24) != 127;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, ip.c_str(), &v6) == 1) {
    return !IN6_IS_ADDR_UNSPECIFIED(&v6) && !IN6_IS_ADDR_LOOPBACK(&v6) && !IN6_IS_ADDR_LINKLOCAL(&v6) &&
           !IN6_IS_ADDR_V4MAPPED(&v6);
  }
  return false;
}

}  // namespace

std::vector<std::string> SpecificHostIps(const json& create_body) {
  std::vector<std::string> ips;
  if (!create_body.is_object()) return ips;
  auto host_config = create_body.find("HostConfig");
  if (host_config == create_body.end() || !host_config->is_object()) return ips;
  auto bindings = host_config->find("PortBindings");
  if (bindings == host_config->end() || !bindings->is_object()) return ips;
  for (const auto& [port, list] : bindings->items()) {
    if (!list.is_array()) continue;
    for (const json& binding : list) {
      if (!binding.is_object() || !binding.contains("HostIp") || !binding["HostIp"].is_string()) continue;
      std::string ip = binding["HostIp"].get<std::string>();
      if (IsSpecific(ip) && std::find(ips.begin(), ips.end(), ip) == ips.end()) ips.push_back(std::move(ip));
    }
  }
  return ips;
}

PublishedAddresses::PublishedAddresses(std::string record_path, Owner owner)
    : record_path_(std::move(record_path)), owner_(std::move(owner)) {
  std::ifstream in(record_path_);
  for (std::string line; std::getline(in, line);) {
    std::string ip(absl::StripAsciiWhitespace(line));
    if (IsSpecific(ip)) recorded_.insert(ip);  // anything else is not ours: ignored
  }
}

PublishedAddresses::Owner PublishedAddresses::DefaultOwner() {
  return [](const std::string& ip) {
    if (IsLocalAddress(ip)) return absl::OkStatus();
    return AddHostAddress("lo", ip);
  };
}

std::set<std::string> PublishedAddresses::Recorded() {
  absl::MutexLock lock(&mu_);
  return recorded_;
}

absl::Status PublishedAddresses::Save() {
  const std::string temp = record_path_ + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    for (const std::string& ip : recorded_) out << ip << '\n';
    out.flush();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", temp));
  }
  if (std::rename(temp.c_str(), record_path_.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot replace ", record_path_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status PublishedAddresses::Ensure(const std::vector<std::string>& ips) {
  absl::Status first;
  bool added = false;
  for (const std::string& ip : ips) {
    if (!IsSpecific(ip)) continue;
    absl::Status owned = owner_(ip);
    if (!owned.ok()) {
      if (first.ok()) first = owned;
      continue;
    }
    absl::MutexLock lock(&mu_);
    if (recorded_.insert(ip).second) {
      added = true;
      spdlog::info("host address {} is now local to the guest, for the ports published on it", ip);
    }
  }
  if (added) {
    absl::MutexLock lock(&mu_);
    if (absl::Status saved = Save(); !saved.ok() && first.ok()) first = saved;
  }
  return first;
}

absl::Status PublishedAddresses::Restore() {
  absl::Status first;
  for (const std::string& ip : Recorded()) {
    absl::Status owned = owner_(ip);
    if (!owned.ok() && first.ok()) first = owned;
  }
  return first;
}

}  // namespace switchyard::agent
