#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchyard::resolve {

// What one backend's engine answered when asked for a reference.
struct Candidate {
  std::string backend;
  std::string id;    // full container id
  std::string name;  // "/name" as dockerd reports it
};

struct Resolution {
  std::string backend;
  std::string id;
};

// Resolves a container reference across backends with dockerd's own
// precedence: a full id, then an exact name, then a unique id prefix.
// `kind` is "container" or "exec instance" for the error text.
// NotFound: "No such container: REF". Two prefix matches in different
// backends: dockerd's ambiguous-prefix error.
absl::StatusOr<Resolution> ResolveReference(absl::string_view ref,
                                            const std::vector<Candidate>& found,
                                            absl::string_view kind = "container");

}  // namespace switchyard::resolve
