#include "services/scheduler/order_filters.h"

#include <catch2/catch.hpp>

#include "libs/http/api_target.h"

namespace switchyard::scheduler {
namespace {

using nlohmann::json;

TEST_CASE("since and before leave the query the guests get", "[scheduler][unit]") {
  const std::string query = "all=1&filters=" + http::UrlEncode(R"({"since":{"c1":true},"status":{"exited":true}})");
  OrderFilters f = SplitOrderFilters(query);
  CHECK(f.since == std::vector<std::string>{"c1"});
  CHECK(f.before.empty());
  CHECK(json::parse(*http::QueryValue(f.query, "filters")) == json::parse(R"({"status":{"exited":true}})"));
  CHECK(http::QueryValue(f.query, "all") == "1");

  // Old clients send lists; a query without these filters is left alone.
  CHECK(SplitOrderFilters("filters=" + http::UrlEncode(R"({"before":["x"]})")).before == std::vector<std::string>{"x"});
  CHECK(SplitOrderFilters("all=1").empty());
  CHECK(SplitOrderFilters("filters=notjson").query == "filters=notjson");
}

TEST_CASE("rows are kept by exact creation time, across VMs", "[scheduler][unit]") {
  const absl::Time t = absl::FromUnixSeconds(1000) + absl::Milliseconds(500);
  // Rows of two VMs, merged; b ties with the object's second.
  json rows = json::parse(R"([{"Id":"d","Created":1002},{"Id":"b","Created":1000},{"Id":"obj","Created":1000},
                              {"Id":"a","Created":999}])");
  int exact_asks = 0;
  CreatedOf object = [&](const std::string& ref) -> absl::StatusOr<absl::Time> {
    if (ref == "obj") return t;
    return absl::NotFoundError("no such container " + ref);
  };
  CreatedOf row = [&](const std::string& id) -> absl::StatusOr<absl::Time> {
    ++exact_asks;
    if (id == "b") return t + absl::Milliseconds(100);
    if (id == "obj") return t;
    return absl::InternalError("asked for a row that does not tie: " + id);
  };
  OrderFilters since{"", {"obj"}, {}};
  auto kept = ApplyOrderFilters(rows, since, object, row);
  REQUIRE(kept.ok());
  CHECK(*kept == json::parse(R"([{"Id":"d","Created":1002},{"Id":"b","Created":1000}])"));
  CHECK(exact_asks == 2);

  OrderFilters before{"", {}, {"obj"}};
  kept = ApplyOrderFilters(rows, before, object, row);
  REQUIRE(kept.ok());
  CHECK(*kept == json::parse(R"([{"Id":"a","Created":999}])"));

  OrderFilters unknown{"", {"nosuch"}, {}};
  CHECK(absl::IsNotFound(ApplyOrderFilters(rows, unknown, object, row).status()));
}

TEST_CASE("creation times parse with nanoseconds", "[scheduler][unit]") {
  auto t = ParseCreated("2024-01-02T03:04:05.123456789Z");
  REQUIRE(t.ok());
  CHECK(absl::ToUnixNanos(*t) % 1000000000 == 123456789);
  CHECK_FALSE(ParseCreated("yesterday").ok());
}

}  // namespace
}  // namespace switchyard::scheduler
