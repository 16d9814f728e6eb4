#include "guest-agent/manager_lease.h"

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "libs/tunnel/sockets.h"

namespace switchyard::agent {
namespace {
namespace fs = std::filesystem;

struct LeaseDir {
  LeaseDir() : dir(fs::temp_directory_path() / ("sy-lease-" + std::to_string(::getpid()))) {
    fs::create_directories(dir);
  }
  ~LeaseDir() { fs::remove_all(dir); }
  std::string socket() const { return (dir / "manager.sock").string(); }
  fs::path dir;
};

bool WaitFor(const std::atomic<int>& value, int want, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (value.load() != want && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  return value.load() == want;
}

TEST_CASE("a lease nobody takes expires after its grace, once") {
  LeaseDir dir;
  std::atomic<int> expired{0};
  ManagerLease lease(absl::Milliseconds(200), [&] { ++expired; });
  REQUIRE(lease.Start(dir.socket()).ok());
  absl::SleepFor(absl::Milliseconds(100));
  CHECK(expired.load() == 0);
  CHECK(WaitFor(expired, 1, absl::Seconds(5)));
  absl::SleepFor(absl::Milliseconds(300));
  CHECK(expired.load() == 1);
}

TEST_CASE("a held lease outlives its grace; a new holder within the grace keeps the VM") {
  LeaseDir dir;
  std::atomic<int> expired{0};
  ManagerLease lease(absl::Milliseconds(300), [&] { ++expired; });
  REQUIRE(lease.Start(dir.socket()).ok());
  absl::StatusOr<int> first = tunnel::ConnectUnix(dir.socket());
  REQUIRE(first.ok());
  absl::SleepFor(absl::Milliseconds(600));
  CHECK(expired.load() == 0);

  // The manager dies; its successor connects before the grace runs out.
  ::close(*first);
  absl::SleepFor(absl::Milliseconds(100));
  absl::StatusOr<int> second = tunnel::ConnectUnix(dir.socket());
  REQUIRE(second.ok());
  absl::SleepFor(absl::Milliseconds(600));
  CHECK(expired.load() == 0);

  // The successor goes too, and nobody comes back.
  ::close(*second);
  CHECK(WaitFor(expired, 1, absl::Seconds(5)));
}

TEST_CASE("a holder that asks for a shutdown gets it at once, within the grace") {
  LeaseDir dir;
  std::atomic<int> expired{0};
  ManagerLease lease(absl::Minutes(10), [&] { ++expired; });
  REQUIRE(lease.Start(dir.socket()).ok());
  absl::StatusOr<int> holder = tunnel::ConnectUnix(dir.socket());
  REQUIRE(holder.ok());
  char other = 'x';
  REQUIRE(::write(*holder, &other, 1) == 1);  // any other byte is not a request
  absl::SleepFor(absl::Milliseconds(200));
  CHECK(expired.load() == 0);
  REQUIRE(::write(*holder, &kShutDownNow, 1) == 1);
  CHECK(WaitFor(expired, 1, absl::Seconds(5)));
  ::close(*holder);
}

TEST_CASE("a stopped lease does not expire") {
  LeaseDir dir;
  std::atomic<int> expired{0};
  {
    ManagerLease lease(absl::Milliseconds(100), [&] { ++expired; });
    REQUIRE(lease.Start(dir.socket()).ok());
    lease.Stop();
    CHECK(!fs::exists(dir.socket()));
  }
  absl::SleepFor(absl::Milliseconds(300));
  CHECK(expired.load() == 0);
}

}  // namespace
}  // namespace switchyard::agent
