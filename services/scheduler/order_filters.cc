#include "services/scheduler/order_filters.h"

#include "absl/strings/str_cat.h"
#include "libs/http/api_target.h"

namespace switchyard::scheduler {
namespace {

using nlohmann::json;

// Filter values come as {"since": {"abc": true}} or, from old clients, {"since": ["abc"]}.
std::vector<std::string> Values(const json& value) {
  std::vector<std::string> out;
  if (value.is_object()) {
    for (const auto& [key, on] : value.items()) out.push_back(key);
  } else if (value.is_array()) {
    for (const json& v : value) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

}  // namespace

OrderFilters SplitOrderFilters(const std::string& query) {
  OrderFilters out{query, {}, {}};
  std::optional<std::string> text = http::QueryValue(query, "filters");
  if (!text.has_value()) return out;
  json filters = json::parse(*text, nullptr, false);
  if (!filters.is_object() || (!filters.contains("since") && !filters.contains("before"))) return out;
  if (filters.contains("since")) out.since = Values(filters["since"]);
  if (filters.contains("before")) out.before = Values(filters["before"]);
  filters.erase("since");
  filters.erase("before");
  out.query = http::WithQueryValue(query, "filters", filters.dump());
  return out;
}

absl::StatusOr<absl::Time> ParseCreated(const std::string& text) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    return absl::InvalidArgumentError(absl::StrCat("creation time \"", text, "\": ", error));
  }
  return t;
}

absl::StatusOr<json> ApplyOrderFilters(const json& rows, const OrderFilters& filters, const CreatedOf& object_created,
                                       const CreatedOf& row_created) {
  struct Bound {
    absl::Time at;
    bool after;  // since: keep what came after; before: what came before
  };
  std::vector<Bound> bounds;
  for (const auto& [refs, after] : {std::pair{&filters.since, true}, std::pair{&filters.before, false}}) {
    for (const std::string& ref : *refs) {
      absl::StatusOr<absl::Time> at = object_created(ref);
      if (!at.ok()) return at.status();
      bounds.push_back({*at, after});
    }
  }
  json kept = json::array();
  for (const json& row : rows) {
    const int64_t second = row.value("Created", int64_t{0});
    bool keep = true;
    for (const Bound& bound : bounds) {
      const int64_t bound_second = absl::ToUnixSeconds(bound.at);
      absl::Time created = absl::FromUnixSeconds(second);
      if (second == bound_second) {  // the list has seconds: ask for the exact time
        absl::StatusOr<absl::Time> exact = row_created(row.value("Id", ""));
        if (!exact.ok()) return exact.status();
        created = *exact;
      }
      keep = keep && (bound.after ? created > bound.at : created < bound.at);
    }
    if (keep) kept.push_back(row);
  }
  return kept;
}

}  // namespace switchyard::scheduler
