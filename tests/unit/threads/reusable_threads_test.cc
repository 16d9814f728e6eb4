#include "libs/threads/reusable_threads.h"

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "absl/synchronization/notification.h"

using switchyard::threads::ReusableThreads;

namespace {

bool Eventually(const std::function<bool()>& check) {
  for (int i = 0; i < 300; ++i) {
    if (check()) return true;
    ::usleep(10 * 1000);
  }
  return check();
}

}  // namespace

TEST_CASE("a thread whose body returned runs the next body", "[threads][unit]") {
  ReusableThreads pool(absl::Seconds(30));
  std::atomic<std::thread::id> first, second;
  REQUIRE(pool.Spawn([&] { first = std::this_thread::get_id(); }));
  REQUIRE(Eventually([&] { return pool.live() == 0; }));
  ::usleep(20 * 1000);  // back in its wait
  REQUIRE(pool.Spawn([&] { second = std::this_thread::get_id(); }));
  REQUIRE(Eventually([&] { return pool.live() == 0; }));
  CHECK(first.load() == second.load());
  CHECK(pool.threads() == 1);
}

TEST_CASE("bodies never wait for a busy thread", "[threads][unit]") {
  ReusableThreads pool;
  absl::Notification release;
  std::atomic<int> ran{0};
  for (int i = 0; i < 3; ++i) {
    REQUIRE(pool.Spawn([&] {
      ++ran;
      release.WaitForNotification();
    }));
  }
  CHECK(Eventually([&] { return ran == 3; }));  // three at once: each got a thread
  CHECK(pool.threads() == 3);
  release.Notify();
  pool.StopAll();
}

TEST_CASE("an idle thread leaves after its linger", "[threads][unit]") {
  ReusableThreads pool(absl::Milliseconds(50));
  REQUIRE(pool.Spawn([] {}));
  CHECK(Eventually([&] { return pool.threads() == 0; }));
}

TEST_CASE("StopAll waits for running bodies and refuses new ones", "[threads][unit]") {
  ReusableThreads pool;
  std::atomic<bool> finished{false};
  REQUIRE(pool.Spawn([&] {
    ::usleep(100 * 1000);
    finished = true;
  }));
  pool.StopAll();
  CHECK(finished.load());
  CHECK(pool.threads() == 0);
  CHECK_FALSE(pool.Spawn([] {}));
}
