#include "libs/resolve/container_resolver.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace switchyard::resolve {

absl::StatusOr<Resolution> ResolveReference(absl::string_view ref,
                                            const std::vector<Candidate>& found,
                                            absl::string_view kind) {
  if (ref.empty()) return absl::NotFoundError(absl::StrCat("No such ", kind, ": "));
  for (const Candidate& c : found) {
    if (c.id == ref) return Resolution{c.backend, c.id};
  }
  const std::string slash_name = absl::StrCat("/", ref);
  for (const Candidate& c : found) {
    if (c.name == slash_name || (!c.name.empty() && c.name == ref)) return Resolution{c.backend, c.id};
  }
  const Candidate* prefix_match = nullptr;
  for (const Candidate& c : found) {
    if (!absl::StartsWith(c.id, ref)) continue;
    if (prefix_match != nullptr && prefix_match->id != c.id) {
      return absl::InternalError(absl::StrCat("multiple IDs found with provided prefix: ", ref));
    }
    prefix_match = &c;
  }
  if (prefix_match != nullptr) return Resolution{prefix_match->backend, prefix_match->id};
  return absl::NotFoundError(absl::StrCat("No such ", kind, ": ", ref));
}

}  // namespace switchyard::resolve
