#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace switchyard::scheduler {

// The list filters `since=` and `before=` name a container or image, which
// one VM holds: sent to the other VM they fail ("no such container"). They
// are taken out of the query sent to the guests and applied to the merged
// rows by creation time, as dockerd orders them.
struct OrderFilters {
  std::string query;                  // the query without since/before
  std::vector<std::string> since;     // the objects named
  std::vector<std::string> before;
  bool empty() const { return since.empty() && before.empty(); }
};

// Splits since/before out of a list query. A query whose filters are not
// JSON is left whole, for dockerd to refuse.
OrderFilters SplitOrderFilters(const std::string& query);

// Creation time of an object (RFC 3339 with nanoseconds, from an inspect).
using CreatedOf = std::function<absl::StatusOr<absl::Time>(const std::string& ref)>;

// Keeps the rows created after every `since` object and before every
// `before` object. `row_created` gives a row's exact creation time; it is
// asked only for rows whose `Created` second ties with an object's.
// The objects' own lookup errors are returned as they are.
absl::StatusOr<nlohmann::json> ApplyOrderFilters(const nlohmann::json& rows, const OrderFilters& filters,
                                                 const CreatedOf& object_created, const CreatedOf& row_created);

// "2024-01-02T03:04:05.123456789Z" → a time; InvalidArgument otherwise.
absl::StatusOr<absl::Time> ParseCreated(const std::string& text);

}  // namespace switchyard::scheduler
