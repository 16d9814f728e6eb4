#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace switchyard::http {

// A Docker API request target split the way moby's router sees it:
// "/v1.41/containers/abc/json?size=1" → version "1.41", path
// "/containers/abc/json", query "size=1".
struct ApiTarget {
  std::string api_version;  // empty for an unversioned path
  std::string path;
  std::string query;
  std::vector<std::string> segments;  // path split on '/', url-decoded
};

ApiTarget ParseTarget(absl::string_view target);

// Rebuilds a target from its parts (version prefix only when given).
std::string BuildTarget(absl::string_view api_version, absl::string_view path,
                        absl::string_view query);

std::string UrlDecode(absl::string_view text);
std::string UrlEncode(absl::string_view text);

// The first value of `key` in a query string, decoded.
std::optional<std::string> QueryValue(absl::string_view query, absl::string_view key);

// `query` with every value of `key` replaced by `value` (added when absent).
std::string WithQueryValue(absl::string_view query, absl::string_view key, absl::string_view value);

// Docker's boolean query convention: "", "0", "false" (any case) are false.
bool QueryBool(absl::string_view query, absl::string_view key);

}  // namespace switchyard::http
