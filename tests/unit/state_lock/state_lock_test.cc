#include "libs/state_lock/state_lock.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

namespace switchyard {
namespace {
namespace fs = std::filesystem;

// flock(2) locks belong to an open file description, so a second open in
// this process conflicts just as another process would.
TEST_CASE("a state lock has one holder at a time, and is free once closed") {
  fs::path path = fs::temp_directory_path() / ("sy-state-lock-" + std::to_string(::getpid()));
  absl::StatusOr<int> first = LockExclusive(path.string());
  REQUIRE(first.ok());
  absl::StatusOr<int> second = LockExclusive(path.string());
  REQUIRE(!second.ok());
  CHECK(absl::IsFailedPrecondition(second.status()));
  CHECK(second.status().message() == path.string() + " is held by another process");

  ::close(*first);
  absl::StatusOr<int> third = LockExclusive(path.string());
  REQUIRE(third.ok());
  ::close(*third);
  fs::remove(path);
}

}  // namespace
}  // namespace switchyard
