#include "libs/tunnel/stream_pump.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>

namespace switchyard::tunnel {
namespace {

// Two socket pairs joined by PumpBoth: `left` talks to `right` through it.
struct Pumped {
  int left = -1, pump_left = -1, pump_right = -1, right = -1;
  std::future<absl::Status> pump;

  Pumped() {
    int a[2], b[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a) == 0);
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b) == 0);
    left = a[0], pump_left = a[1], pump_right = b[0], right = b[1];
    pump = std::async(std::launch::async, [this] { return PumpBoth(pump_left, pump_right); });
  }
  ~Pumped() {
    // The pump must be gone before its descriptors are closed (and their
    // numbers reused), even when a test failed half-way.
    if (pump.valid()) {
      ::shutdown(pump_left, SHUT_RDWR);
      ::shutdown(pump_right, SHUT_RDWR);
      pump.wait();
    }
    for (int fd : {left, pump_left, pump_right, right}) ::close(fd);
  }
  // The pump's result; a pump still running after `timeout` fails the test.
  absl::Status Result(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    REQUIRE(pump.wait_for(timeout) == std::future_status::ready);
    return pump.get();
  }
};

// Bytes that differ along the stream, so a lost or repeated chunk shows.
std::string Pattern(size_t size, char seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>(seed + i * 7 + i / 4093);
  return s;
}

void SendAllThenShutdown(int fd, const std::string& data) {
  for (size_t off = 0; off < data.size();) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += n;
  }
  ::shutdown(fd, SHUT_WR);
}

// What `fd` gives until EOF; a stream still open after 30 s quiet gets
// "<no EOF>" appended, so a broken pump fails the test instead of hanging it.
std::string ReadToEof(int fd) {
  std::string out;
  char buf[32 * 1024];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 30'000) == 0) return out + "<no EOF>";
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) return out;
    out.append(buf, n);
  }
}

TEST_CASE("PumpBoth carries bulk data both ways at once and passes each EOF on") {
  Pumped p;
  // Larger than the bulk buffer, so the pump grows it and wraps many times.
  std::string up = Pattern(9 * 1024 * 1024 + 123, 'a');
  std::string down = Pattern(5 * 1024 * 1024 + 7, 'q');
  std::thread send_up([&] { SendAllThenShutdown(p.left, up); });
  std::thread send_down([&] { SendAllThenShutdown(p.right, down); });
  auto got_up = std::async(std::launch::async, [&] { return ReadToEof(p.right); });
  std::string got_down = ReadToEof(p.left);
  send_up.join();
  send_down.join();
  CHECK(got_up.get() == up);
  CHECK(got_down == down);
  CHECK(p.Result().ok());
}

TEST_CASE("PumpBoth keeps the other direction open after a half-close") {
  Pumped p;
  SendAllThenShutdown(p.left, "question");
  // The right side sees EOF, and only then answers: the reply must still arrive.
  CHECK(ReadToEof(p.right) == "question");
  SendAllThenShutdown(p.right, "answer");
  CHECK(ReadToEof(p.left) == "answer");
  CHECK(p.Result().ok());
}

TEST_CASE("PumpBoth returns an error, not a hang, when a side goes away mid-stream") {
  Pumped p;
  std::string data = Pattern(4 * 1024 * 1024, 'z');
  // Nobody reads on the right: the pump blocks writing, then the reader dies.
  std::thread sender([&] { SendAllThenShutdown(p.left, data); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ::close(p.right);
  p.right = -1;
  auto status = p.Result();
  CHECK(!status.ok());
  ::shutdown(p.pump_left, SHUT_RDWR);  // lets the sender out of a blocked send
  sender.join();
}

TEST_CASE("PumpBoth delivers a server's early reply to a client whose upload it refused") {
  Pumped p;
  // The client uploads more than the server will ever read...
  std::string upload = Pattern(8 * 1024 * 1024, 'u');
  std::thread uploader([&] { SendAllThenShutdown(p.left, upload); });
  // ...the server reads a little, replies, and closes with the rest unread.
  char head[1024];
  REQUIRE(::read(p.right, head, sizeof(head)) > 0);
  REQUIRE(::write(p.right, "413 too large", 13) == 13);
  ::close(p.right);
  p.right = -1;
  // The reply arrives, then EOF; the upload's direction failed on its own.
  CHECK(ReadToEof(p.left) == "413 too large");
  CHECK(!p.Result().ok());
  ::shutdown(p.pump_left, SHUT_RDWR);  // lets the uploader out of a blocked send
  uploader.join();
}

}  // namespace
}  // namespace switchyard::tunnel
