#include "services/scheduler/buildkit/progress_note.h"

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "switchyard/buildkit_wire/v1/buildkit_wire.pb.h"

namespace switchyard::scheduler::buildkit {
namespace {

// A vertex is keyed by its digest; this one needs only to be unique and
// well-formed, not the hash of an LLB op.
std::string NoteDigest(const std::string& text, absl::Time now) {
  const size_t a = std::hash<std::string>{}(text);
  const size_t b = std::hash<int64_t>{}(absl::ToUnixNanos(now));
  return absl::StrFormat("sha256:%016x%016x%016x%016x", a, b, a ^ b, ~a);
}

}  // namespace

std::string ProgressNote(const std::string& text) {
  namespace wire = switchyard::buildkit_wire::v1;
  const absl::Time now = absl::Now();
  wire::StatusResponse status;
  wire::Vertex* vertex = status.add_vertexes();
  vertex->set_digest(NoteDigest(text, now));
  vertex->set_name(text);
  for (wire::Timestamp* t : {vertex->mutable_started(), vertex->mutable_completed()}) {
    t->set_seconds(absl::ToUnixSeconds(now));
    t->set_nanos(static_cast<int32_t>(absl::ToUnixNanos(now) % 1000000000));
  }
  return status.SerializeAsString();
}

std::string BuildAnswerPreface(const std::string& text, bool buildkit) {
  nlohmann::json message;
  if (buildkit) {
    // The CLI reads "aux" as Go's []byte: base64 of the StatusResponse.
    message = {{"id", "moby.buildkit.trace"}, {"aux", absl::Base64Escape(ProgressNote(text))}};
  } else {
    message = {{"stream", text + "\n"}};
  }
  return message.dump() + "\r\n";
}

}  // namespace switchyard::scheduler::buildkit
