#include "libs/tunnel/framed_stream.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "libs/tunnel/sockets.h"

namespace switchyard::tunnel {

absl::Status FramedStream::Read(std::vector<std::string>* out) {
  char buf[64 * 1024];
  while (true) {
    ssize_t n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      decoder_.Feed(absl::string_view(buf, n));
      std::string payload;
      while (decoder_.Next(&payload)) out->push_back(std::move(payload));
      continue;
    }
    if (n == 0) return absl::OutOfRangeError("end of stream");
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return absl::OkStatus();
    return absl::UnavailableError(ErrnoText(errno));
  }
}

bool FramedStream::Send(absl::string_view payload) {
  if (queued_.size() - sent_ + payload.size() + 2 > kMaxQueued) return false;
  if (sent_ > 64 * 1024) {
    queued_.erase(0, sent_);
    sent_ = 0;
  }
  AppendFrame(payload, &queued_);
  (void)Flush();  // errors surface on the next read
  return true;
}

absl::Status FramedStream::Flush() {
  while (sent_ < queued_.size()) {
    ssize_t n = ::send(fd_, queued_.data() + sent_, queued_.size() - sent_, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      sent_ += n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return absl::OkStatus();
    return absl::UnavailableError(ErrnoText(errno));
  }
  queued_.clear();
  sent_ = 0;
  return absl::OkStatus();
}

}  // namespace switchyard::tunnel
