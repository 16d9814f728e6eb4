#include "services/scheduler/image_archive.h"

#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "libs/placement/platform.h"
#include "services/scheduler/tar_members.h"

namespace switchyard::scheduler {
namespace {

constexpr size_t kMaxJson = 4 << 20;  // manifest and configs are small; layers are skipped

}  // namespace

absl::StatusOr<std::string> ArchiveArch(std::FILE* archive) {
  std::map<std::string, std::string> json_files = ReadTarMembers(archive, [](const std::string& name, size_t size) {
    return size <= kMaxJson && name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0;
  });
  auto manifest = json_files.find("manifest.json");
  if (manifest == json_files.end()) return absl::NotFoundError("the archive has no manifest.json");
  nlohmann::json m = nlohmann::json::parse(manifest->second, nullptr, false);
  if (!m.is_array() || m.empty() || !m[0].is_object() || !m[0]["Config"].is_string()) {
    return absl::NotFoundError("the archive's manifest.json names no image config");
  }
  auto config = json_files.find(m[0]["Config"].get<std::string>());
  if (config == json_files.end()) return absl::NotFoundError("the archive lacks its image config");
  nlohmann::json c = nlohmann::json::parse(config->second, nullptr, false);
  if (!c.is_object() || !c["architecture"].is_string()) return absl::NotFoundError("the image config has no architecture");
  return placement::NormalizeArch(c["architecture"].get<std::string>());
}

}  // namespace switchyard::scheduler
