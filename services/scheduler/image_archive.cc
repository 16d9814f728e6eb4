#include "services/scheduler/image_archive.h"

#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "libs/placement/platform.h"

namespace switchyard::scheduler {
namespace {

constexpr size_t kBlock = 512;
constexpr size_t kMaxJson = 4 << 20;  // manifest and configs are small; layers are skipped

size_t OctalSize(const char* field, size_t n) {
  size_t size = 0;
  for (size_t i = 0; i < n && field[i] >= '0' && field[i] <= '7'; ++i) size = size * 8 + (field[i] - '0');
  return size;
}

}  // namespace

absl::StatusOr<std::string> ArchiveArch(std::FILE* archive) {
  std::rewind(archive);
  std::map<std::string, std::string> json_files;
  char header[kBlock];
  while (std::fread(header, 1, kBlock, archive) == kBlock) {
    if (header[0] == '\0') break;  // end-of-archive blocks
    std::string name(header, strnlen(header, 100));
    const std::string prefix(header + 345, strnlen(header + 345, 155));  // ustar
    if (!prefix.empty()) name = prefix + "/" + name;
    const size_t size = OctalSize(header + 124, 12);
    const size_t padded = (size + kBlock - 1) / kBlock * kBlock;
    const bool wanted = header[156] != '5' && size <= kMaxJson && name.size() > 5 &&
                        name.compare(name.size() - 5, 5, ".json") == 0;
    if (wanted) {
      std::string body(padded, '\0');
      if (std::fread(body.data(), 1, padded, archive) != padded) break;
      body.resize(size);
      json_files[name] = std::move(body);
    } else if (std::fseek(archive, static_cast<long>(padded), SEEK_CUR) != 0) {
      break;
    }
  }
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
