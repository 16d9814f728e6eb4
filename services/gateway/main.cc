// switchyard-gateway: the Docker Engine API on docker.sock, in front of the scheduler.
#include <grp.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <csignal>
#include <cstring>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "libs/rpc/unix_channel.h"
#include "libs/http/docker_error.h"
#include "services/gateway/connection_limit.h"
#include "services/gateway/router.h"
#include "switchyard/scheduler/v1/scheduler.grpc.pb.h"

ABSL_FLAG(std::string, run_dir, "/run/switchyard", "private run directory holding the scheduler socket");
ABSL_FLAG(std::string, socket, "", "the Docker API socket; default <run_dir>/docker.sock");
ABSL_FLAG(int, max_connections, 512, "connections served at once; more are answered 503 and closed");
ABSL_FLAG(std::string, socket_group, "", "group owning the Docker socket (mode 0660); empty: root's");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  // Blocked in every thread; the signal thread below takes them.
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
  const std::string run_dir = absl::GetFlag(FLAGS_run_dir);
  std::string socket_path = absl::GetFlag(FLAGS_socket);
  if (socket_path.empty()) socket_path = absl::StrCat(run_dir, "/docker.sock");

  auto scheduler = switchyard::scheduler::v1::Scheduler::NewStub(
      switchyard::rpc::UnixChannel(absl::StrCat(run_dir, "/scheduler.sock")));

  boost::asio::io_context io;
  ::unlink(socket_path.c_str());
  boost::asio::local::stream_protocol::acceptor acceptor(io);
  boost::system::error_code ec;
  acceptor.open(boost::asio::local::stream_protocol(), ec);
  if (!ec) acceptor.bind(boost::asio::local::stream_protocol::endpoint(socket_path), ec);
  if (!ec) acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    spdlog::error("gateway: cannot listen on {}: {}", socket_path, ec.message());
    return 1;
  }
  ::chmod(socket_path.c_str(), 0660);
  if (const std::string group = absl::GetFlag(FLAGS_socket_group); !group.empty()) {
    if (struct group* g = ::getgrnam(group.c_str()); g != nullptr) {
      if (::chown(socket_path.c_str(), 0, g->gr_gid) != 0) spdlog::warn("gateway: chown {} failed", socket_path);
      // The group reaches docker.sock as dockerd's group does. The run
      // directory also holds the private sockets (0600, root's): the group
      // may pass through it (0710), not list it.
      if (socket_path == absl::StrCat(run_dir, "/docker.sock") &&
          (::chown(run_dir.c_str(), 0, g->gr_gid) != 0 || ::chmod(run_dir.c_str(), 0710) != 0)) {
        spdlog::warn("gateway: cannot open {} to group {}: {}", run_dir, group, std::strerror(errno));
      }
    } else {
      spdlog::warn("gateway: group {} does not exist; socket stays root's", group);
    }
  }
  spdlog::info("gateway serving the Docker API on {}", socket_path);

  std::thread([&] {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("gateway stopping on signal {}", sig);
    ::unlink(socket_path.c_str());
    std::_Exit(0);
  }).detach();

  switchyard::gateway::ConnectionLimit limit(absl::GetFlag(FLAGS_max_connections));
  for (;;) {
    boost::asio::local::stream_protocol::socket socket(io);
    acceptor.accept(socket, ec);
    if (ec) continue;
    if (!limit.TryAcquire()) {
      // Answered without reading the request: the client learns why at once.
      const std::string body = switchyard::http::ErrorBody(
          absl::StrCat("too many concurrent connections to switchyard (limit ", limit.max(), "); try again"));
      const std::string answer = absl::StrCat("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                              "Content-Length: ", body.size(), "\r\nConnection: close\r\n\r\n", body);
      boost::asio::write(socket, boost::asio::buffer(answer), ec);
      socket.close(ec);
      continue;
    }
    std::thread([s = std::move(socket), &scheduler, &limit]() mutable {
      switchyard::gateway::ServeConnection(std::move(s), *scheduler);
      limit.Release();
    }).detach();
  }
}
