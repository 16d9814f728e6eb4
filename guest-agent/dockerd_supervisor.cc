#include "guest-agent/dockerd_supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace switchyard::agent {
namespace fs = std::filesystem;
namespace {

constexpr int kFailuresBeforeFailed = 5;
constexpr absl::Duration kPingInterval = absl::Milliseconds(200);

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited with status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("was killed by signal ", WTERMSIG(status));
  return absl::StrCat("ended with wait status ", status);
}

}  // namespace

std::vector<std::string> DockerdArgs(const DockerdConfig& c) {
  std::vector<std::string> args = {
      c.dockerd_bin,
      absl::StrCat("--data-root=", c.DataRoot()),
      absl::StrCat("--exec-root=", c.ExecRoot()),
      absl::StrCat("--host=unix://", c.Socket()),
      absl::StrCat("--pidfile=", c.PidFile()),
      // Our own (empty) config, never the host's /etc/docker/daemon.json.
      absl::StrCat("--config-file=", c.ConfigFile()),
  };
  if (!c.bip.empty()) args.push_back(absl::StrCat("--bip=", c.bip));
  if (!c.default_address_pool.empty()) {
    args.push_back(absl::StrCat("--default-address-pool=base=", c.default_address_pool, ",size=24"));
  }
  if (!c.cgroup_parent.empty()) args.push_back(absl::StrCat("--cgroup-parent=", c.cgroup_parent));
  for (const auto& registry : c.insecure_registries) {
    args.push_back(absl::StrCat("--insecure-registry=", registry));
  }
  return args;
}

std::string ParseDockerdVersion(absl::string_view out) {
  out = absl::StripAsciiWhitespace(out);
  if (!absl::ConsumePrefix(&out, "Docker version ")) return "";
  return std::string(out.substr(0, out.find(',')));
}

absl::StatusOr<std::string> ParseVersionBody(absl::string_view body) {
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object() || !json.contains("Version") || !json["Version"].is_string()) {
    return absl::InvalidArgumentError("no Version in /version answer");
  }
  return json["Version"].get<std::string>();
}

absl::Duration RestartBackoff(int failures) {
  if (failures <= 0) return absl::ZeroDuration();
  return std::min(absl::Seconds(1) * (1 << std::min(failures - 1, 5)), absl::Seconds(30));
}

absl::StatusOr<std::string> UnixHttpGet(const std::string& socket_path, const std::string& target,
                                        absl::Duration timeout) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(std::strerror(errno));
  timeval tv{};
  tv.tv_sec = absl::ToInt64Seconds(timeout);
  tv.tv_usec = absl::ToInt64Microseconds(timeout) % 1000000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof(addr.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::string err = std::strerror(errno);
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("connect ", socket_path, ": ", err));
  }
  // HTTP/1.0: dockerd closes after answering, so the body ends at EOF.
  std::string request = absl::StrCat("GET ", target, " HTTP/1.0\r\nHost: docker\r\n\r\n");
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return absl::UnavailableError("send failed");
  }
  std::string response;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) response.append(buf, n);
  ::close(fd);
  if (!absl::StartsWith(response, "HTTP/1.") || response.size() < 12) {
    return absl::UnavailableError("no HTTP answer");
  }
  if (response.substr(9, 3) != "200") {
    return absl::UnavailableError(absl::StrCat("HTTP ", response.substr(9, 3)));
  }
  size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

DockerdSupervisor::~DockerdSupervisor() { Stop(absl::Seconds(15)); }

absl::Status DockerdSupervisor::Start() {
  std::error_code ec;
  fs::create_directories(config_.state_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("create ", config_.state_dir, ": ", ec.message()));
  // The exec root is runtime state of a previous boot (like /run): its
  // containerd pid file could name an unrelated process of this boot.
  fs::remove_all(config_.ExecRoot(), ec);
  fs::remove(config_.PidFile(), ec);
  {
    std::ofstream cfg(config_.ConfigFile(), std::ios::trunc);
    cfg << "{}\n";
    if (!cfg) return absl::InternalError(absl::StrCat("cannot write ", config_.ConfigFile()));
  }
  if (FILE* p = ::popen((config_.dockerd_bin + " --version 2>/dev/null").c_str(), "r")) {
    char buf[256] = {};
    size_t n = std::fread(buf, 1, sizeof(buf) - 1, p);
    ::pclose(p);
    fallback_version_ = ParseDockerdVersion(absl::string_view(buf, n));
  }
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

pid_t DockerdSupervisor::SpawnLocked() {
  std::vector<std::string> args = DockerdArgs(config_);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  static char kPath[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  static char kHome[] = "HOME=/root";
  char* envp[] = {kPath, kHome, nullptr};
  int log_fd = ::open(config_.LogFile().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);  // the agent blocks signals for sigwait
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (log_fd >= 0) {
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
    }
    ::execve(argv[0], argv.data(), envp);
    ::_exit(127);
  }
  if (log_fd >= 0) ::close(log_fd);
  if (pid > 0) spdlog::info("agent: started dockerd pid {} (socket {})", pid, config_.Socket());
  return pid;
}

void DockerdSupervisor::OnChildExit(pid_t pid, int wait_status) {
  absl::MutexLock lock(&mu_);
  if (pid != pid_ || pid == 0) return;
  exited_ = true;
  exit_status_ = wait_status;
}

EngineStatus DockerdSupervisor::Status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

std::string DockerdSupervisor::LastLogLine() const {
  std::ifstream in(config_.LogFile(), std::ios::binary);
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  in.seekg(std::max<std::streamoff>(0, size - 4096));
  std::string tail((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The last error dockerd logged says why it died; info lines do not.
  std::string last;
  for (absl::string_view line : absl::StrSplit(tail, '\n', absl::SkipWhitespace())) {
    if (absl::StrContains(line, "level=error") || absl::StrContains(line, "level=fatal") ||
        absl::StartsWith(line, "failed to start daemon")) {
      last = std::string(line);
    }
  }
  return last;
}

void DockerdSupervisor::Run() {
  int failures = 0;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
      exited_ = false;
      // Spawned under mu_ so the reaper cannot report this pid before we know it.
      pid_ = SpawnLocked();
      if (pid_ < 0) {
        pid_ = 0;
        exited_ = true;
        exit_status_ = 127 << 8;
      }
      status_.state = status_.restarts == 0 ? EngineState::kStarting : EngineState::kRestarting;
    }
    // Ready once /_ping answers; or it died first.
    bool ready = false;
    while (!ready) {
      {
        absl::MutexLock lock(&mu_);
        auto done = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return exited_ || stopping_; };
        if (mu_.AwaitWithTimeout(absl::Condition(&done), kPingInterval)) break;
      }
      ready = UnixHttpGet(config_.Socket(), "/_ping", absl::Seconds(2)).ok();
    }
    if (ready) {
      auto body = UnixHttpGet(config_.Socket(), "/version", absl::Seconds(5));
      std::string version = fallback_version_;
      if (body.ok()) {
        if (auto v = ParseVersionBody(*body); v.ok()) version = *v;
      }
      absl::MutexLock lock(&mu_);
      status_.state = EngineState::kRunning;
      status_.version = version;
      status_.error.clear();
      failures = 0;
      spdlog::info("agent: dockerd {} is running", version);
      auto done = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return exited_ || stopping_; };
      mu_.Await(absl::Condition(&done));
    }
    absl::MutexLock lock(&mu_);
    if (stopping_) break;
    ++failures;
    ++status_.restarts;
    std::string last = LastLogLine();
    status_.error = absl::StrCat("dockerd ", DescribeWaitStatus(exit_status_), last.empty() ? "" : ": ", last);
    status_.state = failures >= kFailuresBeforeFailed ? EngineState::kFailed : EngineState::kRestarting;
    pid_ = 0;
    absl::Duration backoff = RestartBackoff(failures);
    spdlog::warn("agent: {}; restarting in {}", status_.error, absl::FormatDuration(backoff));
    auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
    mu_.AwaitWithTimeout(absl::Condition(&stopping), backoff);
  }
}

void DockerdSupervisor::Stop(absl::Duration grace) {
  pid_t pid;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    pid = exited_ ? 0 : pid_;
  }
  if (pid > 0) {
    spdlog::info("agent: stopping dockerd pid {}", pid);
    ::kill(pid, SIGTERM);
    absl::MutexLock lock(&mu_);
    auto gone = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return exited_; };
    if (!mu_.AwaitWithTimeout(absl::Condition(&gone), grace)) {
      spdlog::warn("agent: dockerd did not stop within {}, killing it", absl::FormatDuration(grace));
      ::kill(pid, SIGKILL);
      mu_.AwaitWithTimeout(absl::Condition(&gone), absl::Seconds(5));
    }
  }
  if (thread_.joinable()) thread_.join();
  absl::MutexLock lock(&mu_);
  status_.state = EngineState::kStopped;
  pid_ = 0;
}

}  // namespace switchyard::agent
