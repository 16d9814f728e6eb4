// Where a classic build runs: read from its spooled context, the images its
// Dockerfile starts from, placed as one group.
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/build/dockerfile_froms.h"
#include "libs/http/api_target.h"
#include "services/scheduler/scheduler_core.h"
#include "services/scheduler/tar_members.h"

namespace switchyard::scheduler {
namespace {

constexpr size_t kMaxDockerfile = 4 << 20;

// --build-arg values, as the client sends them: {"NAME": "value" or null}.
std::map<std::string, std::string> BuildArgs(const std::string& query) {
  std::map<std::string, std::string> args;
  nlohmann::json given = nlohmann::json::parse(http::QueryValue(query, "buildargs").value_or("{}"), nullptr, false);
  if (!given.is_object()) return args;
  for (const auto& [name, value] : given.items()) {
    if (value.is_string()) args[name] = value.get<std::string>();
  }
  return args;
}

}  // namespace

absl::StatusOr<BackendClient*> SchedulerCore::PlaceBuild(std::FILE* build_context, const std::string& query) {
  BackendClient* native = backends_.front().get();
  std::string dockerfile = http::QueryValue(query, "dockerfile").value_or("");
  if (dockerfile.empty()) dockerfile = "Dockerfile";
  if (dockerfile.rfind("./", 0) == 0) dockerfile = dockerfile.substr(2);
  std::map<std::string, std::string> members = ReadTarMembers(
      build_context, [&](const std::string& name, size_t size) { return name == dockerfile && size <= kMaxDockerfile; });
  // A context without its Dockerfile (a compressed or remote context, or a
  // mistake) is the native builder's to answer.
  if (members.empty()) {
    spdlog::info("build: no {} in the spooled context; backend={}", dockerfile, native->name());
    return native;
  }
  absl::StatusOr<std::vector<build::BaseImage>> bases =
      build::BaseImages(members.begin()->second, http::QueryValue(query, "target").value_or(""), BuildArgs(query));
  if (!bases.ok()) return native;  // the builder's own error, in its words
  std::vector<Placer::BuildBase> wanted;
  std::vector<std::string> named;
  for (const build::BaseImage& b : *bases) {
    wanted.push_back({b.platform, b.image});
    if (!b.image.empty()) named.push_back(b.image);
  }
  absl::StatusOr<placement::Decision> placed = placer_.PlaceBuild(wanted);
  if (!placed.ok()) return placed.status();
  BackendClient* backend = Backend(placed->backend);
  if (backend == nullptr) return absl::UnavailableError(absl::StrCat("backend ", placed->backend, " is not configured"));
  spdlog::info("build FROM {} backend={} ({})", absl::StrJoin(named, ","), backend->name(), placed->rule);
  // A base image that only the other VM holds (built or loaded there)
  // follows the build, as it follows a container.
  for (const build::BaseImage& b : *bases) {
    if (b.image.empty() || Holds(*backend, b.image)) continue;
    absl::StatusOr<bool> copied = BringImage(b.image, b.platform, *backend, absl::StrCat("a build on ", backend->name()));
    if (!copied.ok()) return copied.status();
  }
  return backend;
}

}  // namespace switchyard::scheduler
