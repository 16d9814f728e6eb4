// Where a classic build runs: read from its spooled context, the images its
// Dockerfile starts from, placed as one group.
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/build/dockerfile_froms.h"
#include "libs/placement/platform.h"
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

absl::StatusOr<BuildDecision> SchedulerCore::PlaceBuild(std::FILE* build_context, const std::string& query) {
  BackendClient* native = backends_.front().get();
  BuildDecision decision{"classic", "", http::QueryValue(query, "t").value_or(""), "", native->name(), "", absl::Now()};
  auto decided = [&](BackendClient* backend, std::string rule) {
    decision.backend = backend->name();
    decision.rule = std::move(rule);
    recent_builds_.Add(decision);
    return decision;
  };
  std::string dockerfile = http::QueryValue(query, "dockerfile").value_or("");
  if (dockerfile.empty()) dockerfile = "Dockerfile";
  if (dockerfile.rfind("./", 0) == 0) dockerfile = dockerfile.substr(2);
  std::map<std::string, std::string> members = ReadTarMembers(
      build_context, [&](const std::string& name, size_t size) { return name == dockerfile && size <= kMaxDockerfile; });
  // A context without its Dockerfile (a compressed or remote context, or a
  // mistake) is the native builder's to answer.
  if (members.empty()) {
    spdlog::info("build: no {} in the spooled context; backend={}", dockerfile, native->name());
    return decided(native, absl::StrCat("no ", dockerfile, " in the build context: the native VM's builder answers"));
  }
  absl::StatusOr<std::vector<build::BaseImage>> bases =
      build::BaseImages(members.begin()->second, http::QueryValue(query, "target").value_or(""), BuildArgs(query));
  if (!bases.ok()) {  // the builder's own error, in its words
    return decided(native, absl::StrCat("the Dockerfile does not parse (", bases.status().message(),
                                        "): the native VM's builder answers"));
  }
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
    // Held only for another platform: the build pulls the one it names.
    if (!copied.ok() && copied.status().code() != absl::StatusCode::kNotFound) return copied.status();
  }
  return decided(backend, placed->rule);
}

absl::StatusOr<BuildDecision> SchedulerCore::PlaceBuildKit(const std::string& kind, const std::string& platform) {
  if (!platform.empty() && !placement::ParsePlatform(platform).ok()) {
    // Not a platform we know: the native VM's BuildKit answers it as dockerd does.
    return BuildDecision{kind, "", "", platform, backends_.front()->name(),
                         absl::StrCat("platform ", platform, " is not one switchyard knows: the native VM's BuildKit answers"),
                         absl::Now()};
  }
  absl::StatusOr<placement::Decision> placed = placer_.PlacePull(platform, "");
  if (!placed.ok()) return placed.status();
  if (Backend(placed->backend) == nullptr) {
    return absl::UnavailableError(absl::StrCat("backend ", placed->backend, " is not configured"));
  }
  std::string rule = platform.empty()
                         ? absl::StrCat("no platform named: BuildKit builds for the platform of the VM it runs in, ",
                                        placed->backend, " (", placed->rule, ")")
                         : absl::StrCat("platform ", platform, ": ", placed->rule);
  return BuildDecision{kind, "", "", platform, placed->backend, std::move(rule), absl::Now()};
}

}  // namespace switchyard::scheduler
