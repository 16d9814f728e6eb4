#include "services/scheduler/image_records.h"

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "libs/registry/sqlite_store.h"

namespace switchyard::scheduler {
namespace {

using nlohmann::json;

TEST_CASE("image placements follow the guests, with the rule of their pull or load", "[image_records]") {
  auto store = registry::SqliteStore::Open(":memory:");
  REQUIRE(store.ok());
  ImageRecords records(store->get());
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  records.NotePull("busybox", "vz", "--platform linux/arm64: translated on vz");
  records.NoteLoad("hv", "an archive of arch amd64: native", t0);

  json vz_rows = json::parse(R"([{"Id": "sha256:aaa", "RepoTags": ["busybox:latest"]},
                                 {"Id": "sha256:bbb", "RepoTags": null}])");
  REQUIRE(records.Sync("vz", vz_rows, t0).ok());
  auto pulled = (*store)->GetImage("sha256:aaa", "vz");
  REQUIRE(pulled.ok());
  CHECK(pulled->reference == "busybox:latest");
  CHECK(pulled->rule == "pulled: --platform linux/arm64: translated on vz");
  CHECK(absl::StartsWith((*store)->GetImage("sha256:bbb", "vz")->rule, "found in the VM"));

  json hv_rows = json::parse(R"([{"Id": "sha256:ccc", "RepoTags": ["app:1"]}])");
  REQUIRE(records.Sync("hv", hv_rows, t0 + absl::Seconds(10)).ok());
  CHECK((*store)->GetImage("sha256:ccc", "hv")->rule == "loaded: an archive of arch amd64: native");

  // Removed from vz behind our back: its record goes; hv's stays.
  REQUIRE(records.Sync("vz", json::parse(R"([{"Id": "sha256:aaa", "RepoTags": ["busybox:latest"]}])"), t0).ok());
  CHECK(absl::IsNotFound((*store)->GetImage("sha256:bbb", "vz").status()));
  CHECK((*store)->ListImages()->size() == 2);
  CHECK(absl::IsInvalidArgument(records.Sync("vz", json::object(), t0)));
}

}  // namespace
}  // namespace switchyard::scheduler
