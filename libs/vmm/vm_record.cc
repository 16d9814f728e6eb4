#include "libs/vmm/vm_record.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace switchyard::vmm {

std::string FormatVmRecord(const VmRecord& record) {
  nlohmann::json j = {
      {"boot_id", record.boot_id},
      {"agent_pid", record.agent_pid}, {"agent_start", record.agent_start}, {"slirp_pid", record.slirp_pid},
      {"slirp_start", record.slirp_start}, {"agent_args", record.agent_args},
  };
  return j.dump() + "\n";
}

absl::StatusOr<VmRecord> ParseVmRecord(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  VmRecord record;
  try {
    if (!j.is_object()) throw std::runtime_error("not a JSON object");
    record.boot_id = j.at("boot_id").get<std::string>();
    record.agent_pid = j.at("agent_pid").get<pid_t>();
    record.agent_start = j.at("agent_start").get<uint64_t>();
    record.slirp_pid = j.at("slirp_pid").get<pid_t>();
    record.slirp_start = j.at("slirp_start").get<uint64_t>();
    record.agent_args = j.at("agent_args").get<std::vector<std::string>>();
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("bad VM record: ", e.what()));
  }
  if (record.agent_pid <= 0) return absl::InvalidArgumentError("bad VM record: no agent pid");
  return record;
}

absl::Status WriteVmRecord(const std::string& path, const VmRecord& record) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << FormatVmRecord(record);
    if (!out.flush()) return absl::InternalError(absl::StrCat("write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return absl::InternalError(absl::StrCat("rename ", tmp));
  return absl::OkStatus();
}

absl::StatusOr<VmRecord> ReadVmRecord(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("no VM record at ", path));
  std::stringstream text;
  text << in.rdbuf();
  return ParseVmRecord(text.str());
}

absl::StatusOr<uint64_t> StartTimeOfStatLine(const std::string& stat) {
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return absl::InvalidArgumentError("no command name in stat line");
  // After ") " come field 3 (state) onwards; start time is field 22.
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(stat).substr(paren + 1), ' ', absl::SkipEmpty());
  constexpr size_t kStartTimeIndex = 22 - 3;
  uint64_t start = 0;
  if (fields.size() <= kStartTimeIndex || !absl::SimpleAtoi(fields[kStartTimeIndex], &start)) {
    return absl::InvalidArgumentError("no start time in stat line");
  }
  return start;
}

absl::StatusOr<uint64_t> ProcessStartTime(pid_t pid) {
  if (pid <= 0) return absl::NotFoundError("no process");
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!in || !std::getline(in, line)) return absl::NotFoundError(absl::StrCat("no process ", pid));
  return StartTimeOfStatLine(line);
}

std::string CurrentBootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

bool IsSameProcess(pid_t pid, uint64_t start) {
  absl::StatusOr<uint64_t> now = ProcessStartTime(pid);
  return now.ok() && *now == start;
}

}  // namespace switchyard::vmm
