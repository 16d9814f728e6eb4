#include "libs/vmm/hypervisor_driver.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "guest-agent/manager_lease.h"
#include "libs/tunnel/sockets.h"
#include "libs/vmm/vm_record.h"
#include "spdlog/spdlog.h"

namespace switchyard::vmm {
namespace fs = std::filesystem;
namespace {

// The last lines of a log, for an error that says why the hypervisor ended.
std::string Tail(const std::string& path, size_t max_bytes = 600) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  while (!all.empty() && (all.back() == '\n' || all.back() == ' ')) all.pop_back();
  return all.size() > max_bytes ? all.substr(all.size() - max_bytes) : all;
}

}  // namespace

HypervisorDriver::~HypervisorDriver() {
  // The VM outlives us (our successor adopts it): only our ends go.
  if (lease_fd_ >= 0) ::close(lease_fd_);
  process_.Release();
}

std::string HypervisorDriver::StatePath(const std::string& name) const {
  return (fs::path(spec_.state_dir) / name).string();
}

namespace {

absl::Status PrepareFiles(const HypervisorDriver::Launch& launch) {
  for (const auto& [path, contents] : launch.files) {
    const std::string temp = path + ".new";
    {
      std::ofstream out(temp, std::ios::binary | std::ios::trunc);
      out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
      if (!out) return absl::InternalError(absl::StrCat("cannot write ", temp));
    }
    std::error_code ec;
    fs::rename(temp, path, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot write ", path, ": ", ec.message()));
  }
  for (const auto& [source, destination] : launch.copies) {
    std::error_code ec;
    const bool same = fs::exists(destination, ec) && fs::file_size(source, ec) == fs::file_size(destination, ec) &&
                      fs::last_write_time(source, ec) == fs::last_write_time(destination, ec);
    if (same && !ec) continue;
    const std::string temp = destination + ".new";
    fs::copy_file(source, temp, fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::last_write_time(temp, fs::last_write_time(source, ec), ec);
    if (!ec) fs::rename(temp, destination, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot copy ", source, " to ", destination, ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status HypervisorDriver::Boot(const VmSpec& spec) {
  spec_ = spec;
  exit_reason_.clear();
  std::error_code ec;
  fs::create_directories(spec.state_dir, ec);
  absl::StatusOr<Launch> launch = Plan(spec);
  if (!launch.ok()) return launch.status();
  accelerator_ = launch->accelerator;
  if (!fs::exists(launch->data_disk)) {
    // Sparse: it takes only what the guest writes.
    std::ofstream(launch->data_disk).close();
    fs::resize_file(launch->data_disk, static_cast<uintmax_t>(launch->disk_gib) << 30, ec);
    if (ec) return absl::InternalError(absl::StrCat("create the data disk ", launch->data_disk, ": ", ec.message()));
  }
  if (absl::Status prepared = PrepareFiles(*launch); !prepared.ok()) return prepared;
  if (!launch->serial_socket.empty()) ::unlink(launch->serial_socket.c_str());
  const std::string log_path = StatePath(Name() + ".log");
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  absl::StatusOr<pid_t> pid = SpawnDetached(launch->args, {}, log_fd);
  if (log_fd >= 0) ::close(log_fd);
  if (!pid.ok()) return pid.status();
  process_ = {*pid, PidfdOpen(*pid), true};
  spdlog::info("vmm[{}] {} VM booting: pid {}, accelerator {}, agent over {}", spec.backend, Name(), *pid,
               accelerator_, launch->transport);
  // A hypervisor fails fast on a bad option or accelerator: say why, from its log.
  if (std::optional<std::string> ended = process_.WaitEnd(absl::Milliseconds(300)); ended.has_value()) {
    process_.Release();
    return absl::UnavailableError(absl::StrCat(Name(), " ", *ended, ": ", Tail(log_path)));
  }
  VmRecord record;
  record.boot_id = CurrentBootId();
  record.agent_pid = *pid;  // the VM's one host process
  absl::StatusOr<uint64_t> start = ProcessStartTime(*pid);
  record.agent_start = start.ok() ? *start : 0;
  record.agent_args = launch->args;
  if (absl::Status saved = WriteVmRecord(StatePath("vm.json"), record); !saved.ok()) {
    spdlog::warn("vmm[{}] {}", spec.backend, saved.ToString());
  }
  if (absl::Status connected = Connect(*launch); !connected.ok()) return connected;
  HoldLease();
  return absl::OkStatus();
}

bool HypervisorDriver::Adopt(const VmSpec& spec) {
  if (process_.pid > 0) return false;
  spec_ = spec;
  exit_reason_.clear();
  absl::StatusOr<VmRecord> record = ReadVmRecord(StatePath("vm.json"));
  if (!record.ok()) return false;
  absl::StatusOr<Launch> launch = Plan(spec);
  if (record->boot_id == CurrentBootId() && record->agent_pid > 0) {
    HostProcess p{record->agent_pid, PidfdOpen(record->agent_pid), false};
    const bool alive = p.pidfd >= 0 && IsSameProcess(record->agent_pid, record->agent_start);
    if (alive && launch.ok() && record->agent_args == launch->args) {
      process_ = p;
      accelerator_ = launch->accelerator;
      if (Connect(*launch).ok()) {
        HoldLease();
        spdlog::info("vmm[{}] adopted the running {} VM: pid {}", spec.backend, Name(), process_.pid);
        return true;
      }
    }
    if (alive) {
      // Not ours to carry on with: stop what is left of it.
      spdlog::warn("vmm[{}] the {} VM left running (pid {}) was booted for another configuration: stopping it",
                   spec.backend, Name(), record->agent_pid);
      process_ = p;
      (void)Stop(absl::Seconds(10));
      return false;
    }
    p.Release();
  }
  Cleanup();
  return false;
}

void HypervisorDriver::HoldLease() {
  if (lease_fd_ >= 0) return;
  absl::StatusOr<int> fd = tunnel::ConnectUnix(LeaseEndpoint());
  if (fd.ok()) lease_fd_ = *fd;
}

bool HypervisorDriver::IsRunning() {
  if (process_.pid <= 0) return false;
  std::optional<std::string> ended = process_.WaitEnd(absl::ZeroDuration());
  if (!ended.has_value()) {
    HoldLease();
    return true;
  }
  exit_reason_ = absl::StrCat(Name(), " ", *ended);
  const std::string console = Tail(StatePath("console.log"), 300);
  if (!console.empty()) absl::StrAppend(&exit_reason_, "; the guest's last words: ", console);
  spdlog::warn("vmm[{}] {} VM ended: {}", spec_.backend, Name(), exit_reason_);
  process_.Release();
  return false;
}

absl::Status HypervisorDriver::Stop(absl::Duration grace) {
  if (process_.pid > 0) {
    // The agent stops dockerd and its containers, then the guest powers off.
    // Without the lease there is nobody to ask: straight to the signal.
    const bool asked = lease_fd_ >= 0 && ::write(lease_fd_, &agent::kShutDownNow, 1) == 1;
    std::optional<std::string> ended = process_.WaitEnd(asked ? grace : absl::ZeroDuration());
    if (!ended.has_value()) {
      if (asked) {
        spdlog::warn("vmm[{}] the guest did not power off within {}: stopping {}", spec_.backend,
                     absl::FormatDuration(grace), Name());
      }
      process_.Signal(SIGTERM);
      ended = process_.WaitEnd(absl::Seconds(10));
      if (!ended.has_value()) {
        process_.Signal(SIGKILL);
        ended = process_.WaitEnd(absl::Seconds(10));
      }
    }
    exit_reason_ = ended.has_value() ? absl::StrCat("stopped (", Name(), " ", *ended, ")") : "stopped";
    process_.Release();
  }
  Cleanup();
  spdlog::info("vmm[{}] {} VM stopped", spec_.backend, Name());
  return absl::OkStatus();
}

void HypervisorDriver::Cleanup() {
  Disconnect();
  if (lease_fd_ >= 0) ::close(lease_fd_);
  lease_fd_ = -1;
  for (const char* name : {"agent.sock", "tunnel.sock", "manager.sock", "vm.json"}) {
    ::unlink(StatePath(name).c_str());
  }
}

}  // namespace switchyard::vmm
