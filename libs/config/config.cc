#include "libs/config/config.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace switchyard::config {
namespace {

using json = nlohmann::json;

struct Cidr {
  uint32_t base = 0;
  int prefix = 0;
};

std::optional<Cidr> ParseCidr(const std::string& text) {
  std::vector<std::string> parts = absl::StrSplit(text, '/');
  if (parts.size() != 2) return std::nullopt;
  std::vector<std::string> octets = absl::StrSplit(parts[0], '.');
  int prefix = 0;
  if (octets.size() != 4 || !absl::SimpleAtoi(parts[1], &prefix) || prefix < 8 || prefix > 30) return std::nullopt;
  uint32_t addr = 0;
  for (const std::string& o : octets) {
    int v = 0;
    if (!absl::SimpleAtoi(o, &v) || v < 0 || v > 255) return std::nullopt;
    addr = addr << 8 | static_cast<uint32_t>(v);
  }
  const uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  return Cidr{addr & mask, prefix};
}

bool Overlap(const Cidr& a, const Cidr& b) {
  const int p = std::min(a.prefix, b.prefix);
  const uint32_t mask = ~uint32_t{0} << (32 - p);
  return (a.base & mask) == (b.base & mask);
}

absl::Status Bad(const std::string& origin, const std::string& key, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(origin, ": ", key, ": ", why));
}

// Reads the members of `object` into setters, refusing keys it does not know.
class Reader {
 public:
  Reader(std::string origin) : origin_(std::move(origin)) {}

  absl::Status Object(const json& object, const std::string& prefix,
                      const std::vector<std::pair<std::string, std::function<absl::Status(const json&,
                                                                                             const std::string&)>>>&
                          fields) {
    if (!object.is_object()) return Bad(origin_, prefix.empty() ? "(top level)" : prefix, "must be an object");
    std::vector<std::string> known;
    for (const auto& f : fields) known.push_back(f.first);
    for (const auto& [key, value] : object.items()) {
      const std::string path = prefix.empty() ? key : absl::StrCat(prefix, ".", key);
      auto it = std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return f.first == key; });
      if (it == fields.end()) {
        return Bad(origin_, path, absl::StrCat("unknown key; accepted keys here: ", absl::StrJoin(known, ", ")));
      }
      if (absl::Status s = it->second(value, path); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  auto String(std::string* out) {
    return [this, out](const json& v, const std::string& path) -> absl::Status {
      if (!v.is_string()) return Bad(origin_, path, "must be a string");
      *out = v.get<std::string>();
      return absl::OkStatus();
    };
  }
  auto Bool(bool* out) {
    return [this, out](const json& v, const std::string& path) -> absl::Status {
      if (!v.is_boolean()) return Bad(origin_, path, "must be true or false");
      *out = v.get<bool>();
      return absl::OkStatus();
    };
  }
  auto Int(int* out) {
    return [this, out](const json& v, const std::string& path) -> absl::Status {
      if (!v.is_number_integer()) return Bad(origin_, path, "must be an integer");
      *out = v.get<int>();
      return absl::OkStatus();
    };
  }
  auto StringList(std::vector<std::string>* out) {
    return [this, out](const json& v, const std::string& path) -> absl::Status {
      if (!v.is_array()) return Bad(origin_, path, "must be a list of strings");
      out->clear();
      for (const json& item : v) {
        if (!item.is_string()) return Bad(origin_, path, "must be a list of strings");
        out->push_back(item.get<std::string>());
      }
      return absl::OkStatus();
    };
  }
  auto Backend(BackendConfig* out) {
    return [this, out](const json& v, const std::string& path) -> absl::Status {
      return Object(v, path, {{"driver", String(&out->driver)}, {"bip", String(&out->bip)},
                              {"address_pool", String(&out->address_pool)}, {"start", String(&out->start)},
                              {"idle_stop_seconds", Int(&out->idle_stop_seconds)},
                              {"memory_mib", Int(&out->memory_mib)}, {"cpus", Int(&out->cpus)},
                              {"disk_gib", Int(&out->disk_gib)}});
    };
  }

 private:
  std::string origin_;
};

}  // namespace

absl::Status Validate(const Config& c, const std::string& origin) {
  if (c.run_dir.empty() || c.run_dir[0] != '/') return Bad(origin, "paths.run_dir", "must be an absolute path");
  if (c.state_dir.empty() || c.state_dir[0] != '/') return Bad(origin, "paths.state_dir", "must be an absolute path");
  if (c.native_arch != "" && c.native_arch != "amd64" && c.native_arch != "arm64") {
    return Bad(origin, "native_arch", absl::StrCat("\"", c.native_arch, "\" is not accepted; accepted values: \"amd64\", \"arm64\", \"\" (this machine's)"));
  }
  if (c.instance.empty() || c.instance.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos) {
    return Bad(origin, "instance", "must be non-empty lowercase letters, digits, '-' or '_'");
  }
  const std::string& accel = c.guest.accelerator;
  if (accel != "" && accel != "kvm" && accel != "hvf" && accel != "tcg") {
    return Bad(origin, "guest.accelerator",
               absl::StrCat("\"", accel, "\" is not accepted; accepted values: \"kvm\", \"hvf\", \"tcg\", \"\" (choose)"));
  }
  if (c.guest.boot != "kernel" && c.guest.boot != "efi") {
    return Bad(origin, "guest.boot",
               absl::StrCat("\"", c.guest.boot, "\" is not accepted; accepted values: \"kernel\", \"efi\""));
  }
  if (!c.guest.image.empty() && c.guest.image[0] != '/') return Bad(origin, "guest.image", "must be an absolute path");
  for (const std::string& share : c.guest.shares) {
    if (share.empty() || share[0] != '/' || share.find_first_of(" \t\n,|\"") != std::string::npos) {
      return Bad(origin, "guest.shares",
                 absl::StrCat("\"", share, "\" must be an absolute path without spaces, ',', '|' or '\"'"));
    }
  }
  std::vector<std::pair<std::string, Cidr>> ranges;
  for (const auto& [name, b] : {std::pair<std::string, const BackendConfig&>{"hv", c.hv}, {"vz", c.vz}}) {
    const std::string prefix = absl::StrCat("backends.", name);
#ifdef __APPLE__
    const std::vector<std::string> drivers = {name == "hv" ? "krunkit" : "vfkit", "qemu"};
#else
    const std::vector<std::string> drivers = {"sandbox", "qemu"};
#endif
    if (std::find(drivers.begin(), drivers.end(), b.driver) == drivers.end()) {
      return Bad(origin, prefix + ".driver",
                 absl::StrCat("\"", b.driver, "\" is not available on this host; accepted values: \"",
                              absl::StrJoin(drivers, "\", \""), "\""));
    }
    if (b.start != "eager" && b.start != "on-demand") {
      return Bad(origin, prefix + ".start",
                 absl::StrCat("\"", b.start, "\" is not accepted; accepted values: \"eager\", \"on-demand\""));
    }
    if (b.idle_stop_seconds < 0) {
      return Bad(origin, prefix + ".idle_stop_seconds", "must be 0 (never) or a number of seconds");
    }
    if (b.memory_mib < 512) return Bad(origin, prefix + ".memory_mib", "must be at least 512 (MiB)");
    if (b.cpus < 1 || b.cpus > 64) return Bad(origin, prefix + ".cpus", "must be 1 to 64");
    if (b.disk_gib < 1) return Bad(origin, prefix + ".disk_gib", "must be at least 1 (GiB)");
    for (const auto& [key, text] : {std::pair<std::string, std::string>{"bip", b.bip}, {"address_pool", b.address_pool}}) {
      std::optional<Cidr> cidr = ParseCidr(text);
      if (!cidr.has_value()) {
        return Bad(origin, absl::StrCat(prefix, ".", key),
                   absl::StrCat("\"", text, "\" is not an IPv4 CIDR such as \"10.210.0.1/24\" (prefix 8 to 30)"));
      }
      ranges.emplace_back(absl::StrCat(prefix, ".", key), *cidr);
    }
  }
  for (size_t i = 0; i < ranges.size(); ++i) {
    for (size_t j = i + 1; j < ranges.size(); ++j) {
      if (Overlap(ranges[i].second, ranges[j].second)) {
        return Bad(origin, ranges[j].first,
                   absl::StrCat("overlaps ", ranges[i].first, "; container subnets must never overlap across VMs"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Config> ParseConfig(absl::string_view text, const std::string& origin) {
  json doc = json::parse(text, nullptr, false, /*ignore_comments=*/true);
  if (doc.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(origin, ": not valid JSON"));
  Config c;
  Reader r(origin);
  auto paths = [&](const json& v, const std::string& path) {
    return r.Object(v, path, {{"run_dir", r.String(&c.run_dir)}, {"state_dir", r.String(&c.state_dir)}});
  };
  auto backends = [&](const json& v, const std::string& path) {
    return r.Object(v, path, {{"hv", r.Backend(&c.hv)}, {"vz", r.Backend(&c.vz)}});
  };
  auto translators = [&](const json& v, const std::string& path) {
    return r.Object(v, path, {{"vz_enabled", r.Bool(&c.translators_vz_enabled)},
                              {"hv_fallback", r.Bool(&c.translators_hv_fallback)}});
  };
  auto guest = [&](const json& v, const std::string& path) {
    return r.Object(v, path, {{"image", r.String(&c.guest.image)}, {"accelerator", r.String(&c.guest.accelerator)},
                              {"boot", r.String(&c.guest.boot)},
                              {"shares", r.StringList(&c.guest.shares)}});
  };
  auto experimental = [&](const json& v, const std::string& path) {
    return r.Object(v, path, {{"mixed_groups", r.Bool(&c.experimental_mixed_groups)}});
  };
  absl::Status read = r.Object(doc, "",
                               {{"paths", paths},
                                {"socket_group", r.String(&c.socket_group)},
                                {"native_arch", r.String(&c.native_arch)},
                                {"instance", r.String(&c.instance)},
                                {"backends", backends},
                                {"guest", guest},
                                {"translators", translators},
                                {"experimental", experimental}});
  if (!read.ok()) return read;
  if (absl::Status valid = Validate(c, origin); !valid.ok()) return valid;
  return c;
}

absl::StatusOr<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read the config file"));
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path);
}

}  // namespace switchyard::config
