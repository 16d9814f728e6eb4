#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "absl/time/time.h"

namespace switchyard::docker_text {

// go-units' HumanDuration, which dockerd uses for "Up 3 hours".
std::string HumanDuration(absl::Duration d);

// A container's `Status` column as dockerd computes it at `now` from the
// `State` object of its inspect (moby container/state.go State.String).
std::string StatusText(const nlohmann::json& state, absl::Time now);

// An RFC 3339 time as dockerd writes it ("2026-12-03T18:54:11.123456789Z");
// the zero time ("0001-01-01T00:00:00Z") and bad input give InfinitePast.
absl::Time ParseDockerTime(const std::string& text);

}  // namespace switchyard::docker_text
