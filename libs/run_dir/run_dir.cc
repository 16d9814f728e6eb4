#include "libs/run_dir/run_dir.h"

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace switchyard::run_dir {

absl::Status Prepare(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot make run directory ", path));
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot stat ", path));
  const mode_t closed = st.st_mode & 0710;
  if ((st.st_mode & 07777) != closed && ::chmod(path.c_str(), closed) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot chmod run directory ", path));
  }
  return absl::OkStatus();
}

}  // namespace switchyard::run_dir
