#include "services/scheduler/image_platforms.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "libs/http/api_target.h"
#include "libs/placement/platform.h"

namespace switchyard::scheduler {

ImagePlatforms::ImagePlatforms(std::vector<BackendClient*> backends, RegistryLookup registry)
    : backends_(std::move(backends)), registry_(std::move(registry)) {}

std::vector<std::string> ImagePlatforms::Archs(const std::string& image) {
  std::vector<std::string> archs;
  const std::string target = absl::StrCat("/images/", http::UrlEncode(image), "/json");
  for (BackendClient* backend : backends_) {
    absl::StatusOr<EngineReply> reply = backend->Call("GET", target);
    if (!reply.ok() || reply->status != 200) continue;
    nlohmann::json inspect = nlohmann::json::parse(reply->body, nullptr, false);
    if (!inspect.is_object() || !inspect["Architecture"].is_string()) continue;
    std::string arch = placement::NormalizeArch(inspect["Architecture"].get<std::string>());
    if (std::find(archs.begin(), archs.end(), arch) == archs.end()) archs.push_back(arch);
  }
  if (!archs.empty()) return archs;
  return RegistryArchs(image);
}

std::vector<std::string> ImagePlatforms::RegistryArchs(const std::string& image) {
  std::vector<std::string> archs;
  if (!registry_) return archs;
  absl::StatusOr<std::vector<std::string>> found = registry_(image);
  if (!found.ok()) {
    spdlog::info("image={} platforms unknown: {}", image, found.status().ToString());
    return archs;
  }
  for (const std::string& a : *found) {
    std::string arch = placement::NormalizeArch(a);
    if (std::find(archs.begin(), archs.end(), arch) == archs.end()) archs.push_back(arch);
  }
  return archs;
}

}  // namespace switchyard::scheduler
