#pragma once

#include <string>
#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/api_routes/route.h"

namespace switchyard::api_routes {

// A request matched to its route, with the path's parameters
// ({"id", "web"}, {"name", "library/busybox:latest"}), url-decoded.
struct RouteMatch {
  const RouteEntry* entry = nullptr;
  std::vector<std::pair<std::string, std::string>> params;

  // The value of parameter `key`, "" when the pattern has none.
  const std::string& Param(absl::string_view key) const;
  // The object the path names (its first parameter), "" when none.
  const std::string& Object() const;
};

// Every endpoint the gateway serves, one router per resource.
class RouteTable {
 public:
  RouteTable();

  // The route for `method` and an unversioned, url-decoded path split in
  // segments. NotFound "page not found" (dockerd's 404) when dockerd has no
  // such endpoint, whatever the method.
  absl::StatusOr<RouteMatch> Match(absl::string_view method, const std::vector<std::string>& segments) const;

  const std::vector<RouteEntry>& entries() const { return entries_; }

 private:
  std::vector<RouteEntry> entries_;
  // Each entry's pattern split on '/', made once: Match runs on every request.
  std::vector<std::vector<absl::string_view>> parts_;
};

// The one table, built once.
const RouteTable& ApiRoutes();

// dockerd's text for a path or method it does not serve.
inline constexpr absl::string_view kPageNotFound = "page not found";

}  // namespace switchyard::api_routes
