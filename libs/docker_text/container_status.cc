#include "libs/docker_text/container_status.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace switchyard::docker_text {

std::string HumanDuration(absl::Duration d) {
  const int64_t seconds = absl::ToInt64Seconds(d);
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return absl::StrCat(seconds, " seconds");
  const int64_t minutes = absl::ToInt64Minutes(d);
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return absl::StrCat(minutes, " minutes");
  const int64_t hours = static_cast<int64_t>(std::round(absl::ToDoubleHours(d)));
  if (hours == 1) return "About an hour";
  if (hours < 48) return absl::StrCat(hours, " hours");
  if (hours < 24 * 7 * 2) return absl::StrCat(hours / 24, " days");
  if (hours < 24 * 30 * 2) return absl::StrCat(hours / 24 / 7, " weeks");
  if (hours < 24 * 365 * 2) return absl::StrCat(hours / 24 / 30, " months");
  return absl::StrCat(static_cast<int64_t>(absl::ToDoubleHours(d)) / 24 / 365, " years");
}

absl::Time ParseDockerTime(const std::string& text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &err)) return absl::InfinitePast();
  if (t < absl::FromUnixSeconds(0)) return absl::InfinitePast();  // Go's zero time
  return t;
}

std::string StatusText(const nlohmann::json& state, absl::Time now) {
  auto flag = [&](const char* key) { return state.value(key, false); };
  auto time_of = [&](const char* key) { return ParseDockerTime(state.value(key, std::string())); };
  const int64_t exit_code = state.value("ExitCode", int64_t{0});
  if (flag("Running")) {
    const std::string up = HumanDuration(now - time_of("StartedAt"));
    if (flag("Paused")) return absl::StrCat("Up ", up, " (Paused)");
    if (flag("Restarting")) {
      return absl::StrCat("Restarting (", exit_code, ") ", HumanDuration(now - time_of("FinishedAt")), " ago");
    }
    if (state.contains("Health") && state["Health"].is_object()) {
      std::string health = state["Health"].value("Status", std::string());
      if (health == "starting") health = "health: starting";
      return absl::StrCat("Up ", up, " (", health, ")");
    }
    return absl::StrCat("Up ", up);
  }
  if (flag("RemovalInProgress") || state.value("Status", std::string()) == "removing") return "Removal In Progress";
  if (flag("Dead")) return "Dead";
  if (time_of("StartedAt") == absl::InfinitePast()) return "Created";
  if (time_of("FinishedAt") == absl::InfinitePast()) return "";
  return absl::StrCat("Exited (", exit_code, ") ", HumanDuration(now - time_of("FinishedAt")), " ago");
}

}  // namespace switchyard::docker_text
