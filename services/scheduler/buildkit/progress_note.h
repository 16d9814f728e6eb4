#pragma once

#include <string>

namespace switchyard::scheduler::buildkit {

// A BuildKit progress message (a Control/Status StatusResponse) holding one
// finished step named `text`: clients show it as the build's first line.
std::string ProgressNote(const std::string& text);

// The same note as the first line of a /build answer: a "stream" message for
// the classic builder, a "moby.buildkit.trace" message for BuildKit's.
std::string BuildAnswerPreface(const std::string& text, bool buildkit);

}  // namespace switchyard::scheduler::buildkit
