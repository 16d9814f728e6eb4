#include "libs/tunnel/tunnel_client.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "libs/tunnel/sockets.h"

namespace switchyard::tunnel {

absl::StatusOr<int> OpenTunnel(const TunnelDialer& dial, const TunnelTarget& target, absl::Duration timeout) {
  absl::StatusOr<int> fd = dial();
  if (!fd.ok()) return fd.status();
  absl::Status status = WriteAll(*fd, FormatHeader(target));
  if (status.ok()) {
    absl::StatusOr<std::string> reply = ReadLine(*fd, kMaxLineLength, timeout);
    status = reply.ok() ? ParseReply(*reply)
                        : absl::Status(reply.status().code(),
                                       absl::StrCat("no answer from the guest agent: ", reply.status().message()));
  }
  if (!status.ok()) {
    ::close(*fd);
    return status;
  }
  return *fd;
}

}  // namespace switchyard::tunnel
