#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchyard::compose {

// What placement needs of one Compose service.
struct ServiceSpec {
  std::string image;     // empty when the service is built and has no image name
  std::string platform;  // `platform:`, empty when not given
  bool built = false;    // has `build:`: its image is built locally, for the native arch
};

// Reads a project's compose files (later files override earlier ones, as
// `docker-compose -f a -f b` merges them). Errors name the file.
absl::StatusOr<std::map<std::string, ServiceSpec>> ReadServices(const std::vector<std::string>& files);

// Parses one file's text; `name` is used in errors.
absl::StatusOr<std::map<std::string, ServiceSpec>> ParseServices(absl::string_view yaml, absl::string_view name);

// The file list of label com.docker.compose.project.config_files
// ("a.yml,b.yml"), resolved against com.docker.compose.project.working_dir.
std::vector<std::string> ConfigFiles(absl::string_view label, absl::string_view working_dir);

}  // namespace switchyard::compose
