#include "libs/compose/compose_project.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace switchyard::compose {

absl::StatusOr<std::map<std::string, ServiceSpec>> ParseServices(absl::string_view yaml, absl::string_view name) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("compose file ", name, " is not valid YAML: ", e.what()));
  }
  std::map<std::string, ServiceSpec> services;
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat("compose file ", name, ": top level must be a mapping"));
  }
  YAML::Node node = root["services"];
  if (!node) return services;
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat("compose file ", name, ": services must be a mapping"));
  }
  try {
    for (const auto& entry : node) {
      const std::string service = entry.first.as<std::string>();
      ServiceSpec spec;
      const YAML::Node& body = entry.second;
      if (body.IsMap()) {
        if (body["image"] && body["image"].IsScalar()) spec.image = body["image"].as<std::string>();
        if (body["platform"] && body["platform"].IsScalar()) spec.platform = body["platform"].as<std::string>();
        spec.built = static_cast<bool>(body["build"]);
      } else if (!body.IsNull()) {
        return absl::InvalidArgumentError(
            absl::StrCat("compose file ", name, ": service ", service, " must be a mapping"));
      }
      services[service] = spec;
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("compose file ", name, ": ", e.what()));
  }
  return services;
}

absl::StatusOr<std::map<std::string, ServiceSpec>> ReadServices(const std::vector<std::string>& files) {
  std::map<std::string, ServiceSpec> merged;
  for (const std::string& file : files) {
    std::ifstream in(file);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read compose file ", file));
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<std::map<std::string, ServiceSpec>> services = ParseServices(text.str(), file);
    if (!services.ok()) return services.status();
    for (auto& [name, spec] : *services) {
      ServiceSpec& into = merged[name];
      if (!spec.image.empty()) into.image = spec.image;
      if (!spec.platform.empty()) into.platform = spec.platform;
      into.built = into.built || spec.built;
    }
  }
  return merged;
}

std::vector<std::string> ConfigFiles(absl::string_view label, absl::string_view working_dir) {
  std::vector<std::string> files;
  for (absl::string_view f : absl::StrSplit(label, ',', absl::SkipWhitespace())) {
    f = absl::StripAsciiWhitespace(f);
    if (!f.empty() && f[0] != '/' && !working_dir.empty()) {
      files.push_back(absl::StrCat(working_dir, "/", f));
    } else {
      files.emplace_back(f);
    }
  }
  return files;
}

}  // namespace switchyard::compose
