#include "libs/stream_mux/mux_link.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "libs/stream_mux/mux_frame.h"

namespace fs = std::filesystem;
using switchyard::stream_mux::MuxLink;
using switchyard::stream_mux::MuxOptions;

namespace {

int Listen(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ::unlink(path.c_str());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(::listen(fd, 16) == 0);
  return fd;
}

int Connect(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  return fd;
}

// Reads until EOF (or `limit` bytes), with a bound on waiting.
std::string ReadAll(int fd, size_t limit = SIZE_MAX, int timeout_ms = 10000) {
  std::string out;
  char buffer[65536];
  while (out.size() < limit) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) break;
    ssize_t n = ::read(fd, buffer, std::min(sizeof(buffer), limit - out.size()));
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

void WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    REQUIRE(n > 0);
    done += static_cast<size_t>(n);
  }
}

// A guest-side service: echoes each connection until its EOF, then closes.
class EchoServer {
 public:
  explicit EchoServer(const std::string& path) : fd_(Listen(path)) {
    thread_ = std::thread([this] {
      while (true) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::thread([c] {
          char buffer[65536];
          ssize_t n;
          while ((n = ::read(c, buffer, sizeof(buffer))) > 0) {
            if (::send(c, buffer, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
          }
          ::close(c);
        }).detach();
      }
    });
  }
  ~EchoServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }

 private:
  int fd_;
  std::thread thread_;
};

// Stands in for the hypervisor's serial port: each dial by the opener makes
// a new socket pair, whose other end the acceptor's next dial takes, as a
// guest port reconnects to whichever host client is there now.
class FakePort {
 public:
  absl::StatusOr<int> DialHost() {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return absl::InternalError("socketpair");
    absl::MutexLock lock(&mu_);
    if (!stale_bytes_.empty()) (void)!::write(pair[1], stale_bytes_.data(), stale_bytes_.size());
    guest_end_ = pair[0];
    host_end_ = pair[1];
    return ::dup(pair[1]);
  }
  absl::StatusOr<int> DialGuest() {
    absl::MutexLock lock(&mu_);
    if (guest_end_ < 0) return absl::UnavailableError("no host end");
    int fd = guest_end_;
    guest_end_ = -1;
    return fd;
  }
  // Bytes the guest reads first on the next link, left from an earlier one.
  void LeaveStaleBytes(std::string bytes) {
    absl::MutexLock lock(&mu_);
    stale_bytes_ = std::move(bytes);
  }
  // The host end goes away (qemu's client disconnects).
  void DropHostEnd() {
    absl::MutexLock lock(&mu_);
    ::shutdown(host_end_, SHUT_RDWR);
    ::close(host_end_);
  }

 private:
  absl::Mutex mu_;
  int guest_end_ = -1;
  int host_end_ = -1;
  std::string stale_bytes_;
};

struct Pair {
  explicit Pair(const std::string& name) {
    dir = fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    echo = std::make_unique<EchoServer>((dir / "guest-echo.sock").string());
    MuxOptions host_options;
    host_options.role = MuxOptions::Role::kOpener;
    host_options.name = "host";
    host_options.dial_link = [this] { return port.DialHost(); };
    host_options.ports = {{1024, (dir / "echo.sock").string()}, {1099, (dir / "nothing.sock").string()}};
    host_options.redial_interval = absl::Milliseconds(50);
    host_options.hello_interval = absl::Milliseconds(100);
    host_options.window = 64 * 1024;
    MuxOptions guest_options;
    guest_options.role = MuxOptions::Role::kAcceptor;
    guest_options.name = "guest";
    guest_options.dial_link = [this] { return port.DialGuest(); };
    guest_options.ports = {{1024, (dir / "guest-echo.sock").string()}};
    guest_options.redial_interval = absl::Milliseconds(50);
    guest_options.window = 64 * 1024;
    host = std::make_unique<MuxLink>(host_options);
    guest = std::make_unique<MuxLink>(guest_options);
  }
  ~Pair() {
    host.reset();
    guest.reset();
    echo.reset();
    fs::remove_all(dir);
  }
  bool WaitUp(int sessions) {
    for (int i = 0; i < 200; ++i) {
      if (host->Up() && guest->Up() && host->Sessions() >= sessions) return true;
      ::usleep(20 * 1000);
    }
    return false;
  }
  std::string Echo(const std::string& data) {
    int fd = Connect((dir / "echo.sock").string());
    std::thread writer([&] {
      WriteAll(fd, data);
      ::shutdown(fd, SHUT_WR);
    });
    std::string back = ReadAll(fd);
    writer.join();
    ::close(fd);
    return back;
  }

  fs::path dir;
  FakePort port;
  std::unique_ptr<EchoServer> echo;
  std::unique_ptr<MuxLink> host;
  std::unique_ptr<MuxLink> guest;
};

std::string Pattern(size_t size, char seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>(seed + i * 31 % 251);
  return s;
}

}  // namespace

TEST_CASE("streams through the mux carry bytes both ways, each ending on its own", "[stream_mux][unit]") {
  Pair pair("sy-mux-echo");
  REQUIRE(pair.host->Start().ok());
  REQUIRE(pair.guest->Start().ok());
  REQUIRE(pair.WaitUp(1));
  struct stat st {};
  REQUIRE(::stat((pair.dir / "echo.sock").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);  // only the manager's user reaches the guest

  // Far more than one window, on several streams at once.
  std::vector<std::thread> clients;
  std::atomic<int> intact{0};
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&, i] {
      const std::string data = Pattern(1 << 20, static_cast<char>(i));
      if (pair.Echo(data) == data) ++intact;
    });
  }
  for (auto& c : clients) c.join();
  CHECK(intact == 4);

  // A port no service listens on in the guest: the connection just ends.
  int refused = Connect((pair.dir / "nothing.sock").string());
  CHECK(ReadAll(refused).empty());
  ::close(refused);
}

TEST_CASE("a stream whose reader stalls does not hold up the others", "[stream_mux][unit]") {
  Pair pair("sy-mux-stall");
  REQUIRE(pair.host->Start().ok());
  REQUIRE(pair.guest->Start().ok());
  REQUIRE(pair.WaitUp(1));
  // The echo's answers to this one are never read: it fills its window.
  int stalled = Connect((pair.dir / "echo.sock").string());
  std::thread flood([&] {
    std::string chunk(64 * 1024, 'x');
    for (int i = 0; i < 64; ++i) {
      if (::send(stalled, chunk.data(), chunk.size(), MSG_NOSIGNAL) <= 0) break;
    }
  });
  ::usleep(200 * 1000);
  CHECK(pair.Echo("still answered") == "still answered");
  ::shutdown(stalled, SHUT_RDWR);
  flood.join();
  ::close(stalled);
}

TEST_CASE("a link that drops and comes back starts a new session past stale bytes", "[stream_mux][unit]") {
  Pair pair("sy-mux-relink");
  REQUIRE(pair.host->Start().ok());
  REQUIRE(pair.guest->Start().ok());
  REQUIRE(pair.WaitUp(1));
  int open_stream = Connect((pair.dir / "echo.sock").string());
  WriteAll(open_stream, "before");
  CHECK(ReadAll(open_stream, 6) == "before");

  // The next link starts with the tail of a frame from the old one.
  std::string stale;
  switchyard::stream_mux::AppendFrame(switchyard::stream_mux::FrameType::kData, 1, "stale data", &stale);
  pair.port.LeaveStaleBytes(stale.substr(5));
  pair.port.DropHostEnd();
  // Streams of the old session end.
  CHECK(ReadAll(open_stream).empty());
  ::close(open_stream);
  REQUIRE(pair.WaitUp(2));
  CHECK(pair.Echo("after") == "after");
}
