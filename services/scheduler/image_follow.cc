// Images follow their workloads: an image that one VM holds is copied to
// the VM a workload was placed on, when that VM can run its architecture.
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "libs/http/api_target.h"
#include "libs/placement/platform.h"
#include "services/scheduler/scheduler_core.h"

namespace switchyard::scheduler {

absl::StatusOr<bool> SchedulerCore::BringImage(const std::string& image, const std::string& platform,
                                               BackendClient& to, const std::string& why) {
  const std::string target = absl::StrCat("/images/", http::UrlEncode(image), "/json");
  for (const auto& from : backends_) {
    if (from.get() == &to) continue;
    absl::StatusOr<EngineReply> found = from->Call("GET", target);
    if (!found.ok() || found->status != 200) continue;
    nlohmann::json inspected = nlohmann::json::parse(found->body, nullptr, false);
    const std::string arch = inspected.is_object() ? inspected.value("Architecture", "") : "";
    // A copy of another platform would not serve the create: dockerd's own
    // 404 for an image of another platform, and the client pulls the one
    // it asked for.
    if (absl::StatusOr<placement::Platform> wanted = placement::ParsePlatform(platform);
        !platform.empty() && wanted.ok() && !arch.empty()) {
      const placement::Platform held{inspected.value("Os", "linux"), arch, inspected.value("Variant", "")};
      if (!placement::PlatformMatches(*wanted, held)) {
        return absl::NotFoundError(absl::StrCat("image with reference ", image,
                                                " was found but does not match the specified platform: wanted ",
                                                placement::PlatformString(*wanted),
                                                ", actual: ", placement::PlatformString(held)));
      }
    }
    auto [hv, vz] = views_.Get();
    const placement::BackendView& view = to.name() == hv.name ? hv : vz;
    if (!arch.empty() && !placement::CanRun(placer_.settings().routing, view, arch)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "image ", image, " (linux/", arch, ") is only in backend ", from->name(), ", and backend ", to.name(),
          " cannot run linux/", arch, ": it has no translator for it"));
    }
    spdlog::info("image={} arch={} copy backend={} -> backend={} ({})", image, arch, from->name(), to.name(), why);
    image_records_.NoteLoad(to.name(), absl::StrCat("copied from ", from->name(), " for ", why));
    if (absl::Status copied = image_copier_.Copy(*from, to, image); !copied.ok()) return copied;
    return true;
  }
  return false;
}

}  // namespace switchyard::scheduler
