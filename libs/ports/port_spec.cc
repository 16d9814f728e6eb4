#include "libs/ports/port_spec.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace switchyard::ports {
namespace {

using json = nlohmann::json;

// A string member, or "" when absent or of another type: bad input must not throw.
std::string Str(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

bool ParsePort(absl::string_view text, int* port) {
  return absl::SimpleAtoi(text, port) && *port >= 1 && *port <= 65535;
}

// "8080" → [8080, 8080]; "8000-8010" → [8000, 8010]; "" → [0, 0] (any).
bool ParseHostPorts(const std::string& text, int* first, int* last) {
  if (text.empty()) {
    *first = *last = 0;
    return true;
  }
  std::vector<std::string> parts = absl::StrSplit(text, '-');
  if (parts.size() == 1) return ParsePort(parts[0], first) && (*last = *first, true);
  return parts.size() == 2 && ParsePort(parts[0], first) && ParsePort(parts[1], last) && *first <= *last;
}

}  // namespace

absl::StatusOr<std::pair<int, std::string>> ParsePortKey(const std::string& key) {
  std::vector<std::string> parts = absl::StrSplit(key, absl::MaxSplits('/', 1));
  int port = 0;
  if (!ParsePort(parts[0], &port)) return absl::InvalidArgumentError(absl::StrCat("invalid port: ", key));
  std::string protocol = parts.size() == 2 ? parts[1] : "tcp";
  if (protocol != "tcp" && protocol != "udp" && protocol != "sctp") {
    return absl::InvalidArgumentError(absl::StrCat("invalid proto: ", protocol));
  }
  return std::make_pair(port, protocol);
}

std::vector<PortBinding> RequestedBindings(const json& host_config) {
  std::vector<PortBinding> out;
  if (!host_config.is_object() || !host_config.contains("PortBindings")) return out;
  const json& bindings = host_config["PortBindings"];
  if (!bindings.is_object()) return out;
  for (const auto& [key, list] : bindings.items()) {
    absl::StatusOr<std::pair<int, std::string>> port = ParsePortKey(key);
    if (!port.ok() || !list.is_array()) continue;
    for (const json& b : list) {
      if (!b.is_object()) continue;
      PortBinding binding{port->second, Str(b, "HostIp"), 0, port->first};
      int first = 0;
      int last = 0;
      if (ParseHostPorts(Str(b, "HostPort"), &first, &last) && first == last) {
        binding.host_port = first;
      }
      out.push_back(binding);
    }
  }
  return out;
}

absl::Status AssignHostPorts(json& spec, const json& image_exposed, const PortChooser& choose) {
  if (!spec.is_object() || !spec.contains("HostConfig") || !spec["HostConfig"].is_object()) {
    return absl::OkStatus();
  }
  json& host_config = spec["HostConfig"];
  const bool publish_all = host_config.contains("PublishAllPorts") && host_config["PublishAllPorts"].is_boolean() &&
                           host_config["PublishAllPorts"].get<bool>();
  if (!publish_all && !host_config.contains("PortBindings")) return absl::OkStatus();
  json& bindings = host_config["PortBindings"];
  if (bindings.is_null()) bindings = json::object();
  if (!bindings.is_object()) return absl::OkStatus();

  if (publish_all) {
    for (const json* exposed : std::initializer_list<const json*>{&spec["ExposedPorts"], &image_exposed}) {
      if (!exposed->is_object()) continue;
      for (const auto& [key, unused] : exposed->items()) {
        if (!ParsePortKey(key).ok()) continue;
        json& list = bindings[key];
        if (!list.is_array() || list.empty()) list = json::array({json{{"HostIp", ""}, {"HostPort", ""}}});
      }
    }
    if (spec["ExposedPorts"].is_null()) spec.erase("ExposedPorts");
  }
  for (auto& [key, list] : bindings.items()) {
    absl::StatusOr<std::pair<int, std::string>> port = ParsePortKey(key);
    if (!port.ok() || !list.is_array()) continue;
    for (json& b : list) {
      if (!b.is_object()) continue;
      if (b.contains("HostPort") && !b["HostPort"].is_string() && !b["HostPort"].is_null()) continue;
      const std::string text = Str(b, "HostPort");
      int first = 0;
      int last = 0;
      if (!ParseHostPorts(text, &first, &last)) continue;  // dockerd names the bad port
      if (first != 0 && first == last) continue;
      PortBinding binding{port->second, Str(b, "HostIp"), 0, port->first};
      absl::StatusOr<int> chosen = choose(binding, first, last);
      if (!chosen.ok()) return chosen.status();
      b["HostPort"] = absl::StrCat(*chosen);
    }
  }
  return absl::OkStatus();
}

std::vector<Claim> PublishedPorts(const std::string& backend, const json& rows) {
  std::vector<Claim> out;
  if (!rows.is_array()) return out;
  for (const json& row : rows) {
    if (!row.is_object() || !row["Id"].is_string() || !row["Ports"].is_array()) continue;
    for (const json& p : row["Ports"]) {
      if (!p.is_object() || !p.contains("PublicPort") || !p["PublicPort"].is_number_integer()) continue;
      const std::string type = Str(p, "Type");
      const int private_port = p.contains("PrivatePort") && p["PrivatePort"].is_number_integer()
                                   ? p["PrivatePort"].get<int>()
                                   : 0;
      PortBinding binding{type.empty() ? "tcp" : type, Str(p, "IP"), p["PublicPort"].get<int>(), private_port};
      out.push_back({backend, row["Id"].get<std::string>(), binding});
    }
  }
  return out;
}

}  // namespace switchyard::ports
