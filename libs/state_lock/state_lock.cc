#include "libs/state_lock/state_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace switchyard {

absl::StatusOr<int> LockExclusive(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return absl::FailedPreconditionError(absl::StrCat(path, " is held by another process"));
    return absl::InternalError(absl::StrCat("lock ", path, ": ", std::strerror(err)));
  }
  return fd;
}

}  // namespace switchyard
