#include "guest-agent/manager_lease.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vector>

#include "libs/tunnel/accept_loop.h"
#include "libs/tunnel/sockets.h"
#include "spdlog/spdlog.h"

namespace switchyard::agent {

ManagerLease::ManagerLease(absl::Duration grace, std::function<void()> on_expire)
    : grace_(grace), on_expire_(std::move(on_expire)) {}

absl::Status ManagerLease::Start(const std::string& socket_path) {
  absl::StatusOr<int> listener = tunnel::ListenUnix(socket_path);
  if (!listener.ok()) return listener.status();
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    ::close(*listener);
    return absl::InternalError(tunnel::ErrnoText(errno));
  }
  socket_path_ = socket_path;
  thread_ = std::thread([this, fd = *listener] { Run(fd); });
  return absl::OkStatus();
}

void ManagerLease::Stop() {
  if (!thread_.joinable()) return;
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof(one));
  thread_.join();
  ::close(wake_fd_);
  wake_fd_ = -1;
  ::unlink(socket_path_.c_str());
}

void ManagerLease::Run(int listen_fd) {
  std::vector<int> holders;
  absl::Time unheld_since = absl::Now();
  bool expired = false;
  bool asked = false;
  while (!expired && !asked) {
    std::vector<pollfd> fds = {{wake_fd_, POLLIN, 0}, {listen_fd, POLLIN, 0}};
    for (int fd : holders) fds.push_back({fd, POLLIN, 0});
    int timeout_ms = -1;
    if (holders.empty()) {
      absl::Duration left = unheld_since + grace_ - absl::Now();
      timeout_ms = static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(left) + 1));
    }
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) break;  // Stop()
    if (fds[1].revents != 0) {
      tunnel::Accepted accepted = tunnel::AcceptOnce(listen_fd, "manager lease");
      if (accepted.closed) break;  // not ours to close: nothing left to watch
      if (accepted.fd >= 0) {
        if (holders.empty()) spdlog::info("VM manager holds the VM");
        holders.push_back(accepted.fd);
      }
    }
    // A holder writes only to ask for a shutdown; otherwise readable means
    // it closed (or died).
    for (size_t i = fds.size(); i-- > 2;) {
      if (fds[i].revents == 0) continue;
      char byte;
      if (::read(fds[i].fd, &byte, 1) > 0) {
        if (byte == kShutDownNow) {
          spdlog::info("VM manager asks the VM to shut down");
          asked = true;
        }
        continue;
      }
      ::close(fds[i].fd);
      std::erase(holders, fds[i].fd);
      if (holders.empty()) {
        unheld_since = absl::Now();
        spdlog::warn("VM manager let go of the VM; shutting down unless one returns within {}",
                     absl::FormatDuration(grace_));
      }
    }
    if (holders.empty() && absl::Now() - unheld_since >= grace_) expired = true;
  }
  for (int fd : holders) ::close(fd);
  ::close(listen_fd);
  if (expired) spdlog::warn("no VM manager for {}: shutting the VM down", absl::FormatDuration(grace_));
  if (expired || asked) on_expire_();
}

}  // namespace switchyard::agent
