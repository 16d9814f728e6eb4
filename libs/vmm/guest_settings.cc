#include "libs/vmm/guest_settings.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace switchyard::vmm {
namespace {

constexpr size_t kSettingsDiskBytes = 4096;

}  // namespace

absl::StatusOr<std::vector<std::string>> GuestSettingLines(const GuestSettings& settings) {
  std::vector<std::string> values = {settings.hostname, settings.data_disk};
  values.insert(values.end(), settings.agent_args.begin(), settings.agent_args.end());
  for (const auto& [tag, path] : settings.shares) values.push_back(path);
  values.insert(values.end(), settings.translators.begin(), settings.translators.end());
  for (const std::string& value : values) {
    if (value.find_first_of(" \t\n|,\"") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("cannot pass \"", value, "\" on a kernel command line"));
    }
  }
  std::vector<std::string> lines = {absl::StrCat("sy_hostname=", settings.hostname),
                                    absl::StrCat("sy_agent_args=", absl::StrJoin(settings.agent_args, "|"))};
  if (!settings.shares.empty()) {
    lines.push_back(absl::StrCat("sy_shares=", absl::StrJoin(settings.shares, ",", [](std::string* out, const auto& s) {
                                   absl::StrAppend(out, s.first, ":", s.second);
                                 })));
  }
  if (!settings.translators.empty()) {
    lines.push_back(absl::StrCat("sy_translators=", absl::StrJoin(settings.translators, ",")));
  }
  if (!settings.data_disk.empty()) lines.push_back(absl::StrCat("sy_data_disk=", settings.data_disk));
  return lines;
}

absl::StatusOr<std::string> GuestKernelCmdline(const std::string& console, const GuestSettings& settings) {
  absl::StatusOr<std::vector<std::string>> lines = GuestSettingLines(settings);
  if (!lines.ok()) return lines.status();
  std::vector<std::string> parts = {absl::StrCat("console=", console), "panic=-1", "loglevel=4"};
  parts.insert(parts.end(), lines->begin(), lines->end());
  std::string line = absl::StrJoin(parts, " ");
  if (line.size() > 2047) {
    return absl::InvalidArgumentError(absl::StrCat("kernel command line too long (", line.size(), " bytes)"));
  }
  return line;
}

absl::StatusOr<std::string> GuestSettingsDisk(const GuestSettings& settings) {
  absl::StatusOr<std::vector<std::string>> lines = GuestSettingLines(settings);
  if (!lines.ok()) return lines.status();
  std::string disk = absl::StrCat(kSettingsDiskMagic, "\n", absl::StrJoin(*lines, "\n"), "\n");
  if (disk.size() > kSettingsDiskBytes) {
    return absl::InvalidArgumentError(absl::StrCat("guest settings too long (", disk.size(), " bytes)"));
  }
  disk.resize(kSettingsDiskBytes, '\0');
  return disk;
}

}  // namespace switchyard::vmm
