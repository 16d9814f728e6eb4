#include "libs/ports/port_table.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace switchyard::ports {

void PortTable::SetBackend(const std::string& backend, std::vector<Claim> claims) {
  by_backend_[backend] = std::move(claims);
}

void PortTable::Add(const std::vector<Claim>& claims) {
  for (const Claim& c : claims) by_backend_[c.backend].push_back(c);
}

void PortTable::Release(const std::string& container_id) {
  for (auto& [backend, claims] : by_backend_) {
    std::erase_if(claims, [&](const Claim& c) { return c.container_id == container_id; });
  }
}

std::optional<Claim> PortTable::FindConflict(const PortBinding& binding, const std::string& container_id) const {
  for (const auto& [backend, claims] : by_backend_) {
    for (const Claim& c : claims) {
      if (c.container_id != container_id && Collide(c.binding, binding)) return c;
    }
  }
  return std::nullopt;
}

std::vector<Claim> PortTable::OfBackend(const std::string& backend) const {
  auto it = by_backend_.find(backend);
  return it == by_backend_.end() ? std::vector<Claim>{} : it->second;
}

std::vector<Claim> PortTable::All() const {
  std::vector<Claim> out;
  for (const auto& [backend, claims] : by_backend_) out.insert(out.end(), claims.begin(), claims.end());
  return out;
}

absl::StatusOr<int> ChooseFreePort(const PortTable& table, PortBinding binding, int first, int last, int* cursor,
                                   const std::function<bool(const PortBinding&)>& usable) {
  if (first < 1 || last > 65535 || first > last) {
    return absl::InvalidArgumentError(absl::StrCat("invalid port range ", first, "-", last));
  }
  const int span = last - first + 1;
  int next = (*cursor < first || *cursor >= last) ? first : *cursor + 1;
  for (int tried = 0; tried < span; ++tried, next = next >= last ? first : next + 1) {
    binding.host_port = next;
    if (table.FindConflict(binding, "").has_value() || !usable(binding)) continue;
    *cursor = next;
    return next;
  }
  // dockerd's portallocator message.
  return absl::ResourceExhaustedError(
      absl::StrCat("all ports are allocated (", binding.protocol, " ", first, "-", last, ")"));
}

}  // namespace switchyard::ports
