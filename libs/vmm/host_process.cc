#include "libs/vmm/host_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"

namespace switchyard::vmm {

void HostProcess::Signal(int sig) const {
  if (pidfd >= 0) {
    ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0);
  } else if (pid > 0) {
    ::kill(pid, sig);
  }
}

std::optional<std::string> HostProcess::WaitEnd(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  if (!child) {
    if (pidfd < 0) return "ended";
    pollfd pfd{pidfd, POLLIN, 0};
    while (true) {
      int left = static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now())));
      int n = ::poll(&pfd, 1, left);
      if (n > 0 || (n < 0 && errno != EINTR)) return "ended";
      if (n == 0) return std::nullopt;
    }
  }
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return DescribeWaitStatus(status);
    if (r < 0 && errno != EINTR) return "vanished";  // not ours any more
    if (absl::Now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void HostProcess::Release() {
  if (pidfd >= 0) ::close(pidfd);
  *this = {};
}

absl::StatusOr<pid_t> SpawnDetached(const std::vector<std::string>& args, std::vector<int> keep_fds, int log_fd) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    ::setsid();
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (log_fd >= 0) {
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
    }
    for (int fd : keep_fds) ::fcntl(fd, F_SETFD, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

int PidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited with status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("killed by signal ", WTERMSIG(status));
  return absl::StrCat("ended with wait status ", status);
}

}  // namespace switchyard::vmm
