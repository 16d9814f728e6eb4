#include "libs/api_routes/route_table.h"

#include "absl/status/status.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace switchyard::api_routes {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

bool IsParam(absl::string_view part) { return part.size() > 2 && part.front() == '{' && part.back() == '}'; }

// Matches path segments against pattern parts from the given positions. A
// "{name*}" part takes one or more segments, leaving the rest to match the
// pattern's tail (moby's "{name:.*}").
bool MatchFrom(const std::vector<absl::string_view>& parts, size_t p, const std::vector<std::string>& segments,
               size_t s, Params& params) {
  if (p == parts.size()) return s == segments.size();
  if (s == segments.size()) return false;
  absl::string_view part = parts[p];
  if (!IsParam(part)) return part == segments[s] && MatchFrom(parts, p + 1, segments, s + 1, params);
  absl::string_view key = part.substr(1, part.size() - 2);
  if (key.back() != '*') {
    params.emplace_back(std::string(key), segments[s]);
    if (MatchFrom(parts, p + 1, segments, s + 1, params)) return true;
    params.pop_back();
    return false;
  }
  key.remove_suffix(1);
  const size_t tail = parts.size() - p - 1;
  // Greedy, as ".*" is: the longest name that leaves the tail matching.
  for (size_t end = segments.size() - tail; end > s && end <= segments.size(); --end) {
    std::vector<absl::string_view> taken(segments.begin() + s, segments.begin() + end);
    params.emplace_back(std::string(key), absl::StrJoin(taken, "/"));
    if (MatchFrom(parts, p + 1, segments, end, params)) return true;
    params.pop_back();
  }
  return false;
}

}  // namespace

const std::string& RouteMatch::Param(absl::string_view key) const {
  static const std::string kNone;
  for (const auto& [k, v] : params) {
    if (k == key) return v;
  }
  return kNone;
}

const std::string& RouteMatch::Object() const {
  static const std::string kNone;
  return params.empty() ? kNone : params.front().second;
}

RouteTable::RouteTable() {
  for (auto router : {ContainerRoutes, ExecRoutes, ImageRoutes, NetworkRoutes, VolumeRoutes, SystemRoutes,
                      BuildRoutes, SessionRoutes, SwarmRoutes, PluginRoutes, DistributionRoutes}) {
    for (const RouteEntry& entry : router()) entries_.push_back(entry);
  }
  for (const RouteEntry& entry : entries_) parts_.push_back(absl::StrSplit(entry.pattern.substr(1), '/'));
}

absl::StatusOr<RouteMatch> RouteTable::Match(absl::string_view method,
                                             const std::vector<std::string>& segments) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].method != method) continue;
    RouteMatch match{&entries_[i], {}};
    if (MatchFrom(parts_[i], 0, segments, 0, match.params)) return match;
  }
  return absl::NotFoundError(kPageNotFound);
}

const RouteTable& ApiRoutes() {
  static const RouteTable* table = new RouteTable();
  return *table;
}

}  // namespace switchyard::api_routes
