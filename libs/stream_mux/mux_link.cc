#include "libs/stream_mux/mux_link.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "libs/stream_mux/mux_frame.h"
#include "libs/tunnel/sockets.h"
#include "spdlog/spdlog.h"

namespace switchyard::stream_mux {
namespace {

// Reading local streams pauses while this much waits to go on the link.
constexpr size_t kLinkHighWater = 1 << 20;
constexpr size_t kReadChunk = 32 * 1024;

void SetNonBlocking(int fd) { (void)tunnel::SetNonBlocking(fd, true); }

}  // namespace

class MuxLink::Engine {
 public:
  Engine(const MuxOptions& options, const std::map<uint32_t, int>& listeners, int wake_fd, std::atomic<bool>* up,
         std::atomic<int>* sessions)
      : options_(options), listeners_(listeners), wake_fd_(wake_fd), up_(up), sessions_(sessions) {}
  ~Engine() { LinkDown(""); }

  void Run() {
    while (true) {
      if (link_ < 0 && !Dial()) {
        if (WaitForWake(options_.redial_interval)) return;
        continue;
      }
      if (PollOnce()) return;
    }
  }

 private:
  enum class State { kAwaitHello, kAwaitAck, kUp };

  struct Stream {
    int fd = -1;
    uint64_t send_credit = 0;  // bytes we may still put on the link
    std::string out;           // from the link, for the local socket
    size_t out_offset = 0;
    uint32_t unreported = 0;   // passed on locally, not yet credited back
    bool local_eof = false;    // our local side ended; EOF sent
    bool remote_eof = false;   // the peer's EOF came
    bool shut = false;         // EOF passed on to the local socket
  };

  bool opener() const { return options_.role == MuxOptions::Role::kOpener; }

  bool Dial() {
    absl::StatusOr<int> fd = options_.dial_link();
    if (!fd.ok()) {
      std::string error(fd.status().message());
      if (error != last_dial_error_) spdlog::info("mux[{}] link not reachable yet: {}", options_.name, error);
      last_dial_error_ = error;
      return false;
    }
    last_dial_error_.clear();
    link_ = *fd;
    SetNonBlocking(link_);
    decoder_.Clear();
    link_out_.clear();
    link_out_offset_ = 0;
    if (opener()) {
      state_ = State::kAwaitAck;
      std::random_device random;
      epoch_ = (static_cast<uint64_t>(random()) << 32) ^ random() ^ static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
      SendHello();
    } else {
      state_ = State::kAwaitHello;
    }
    return true;
  }

  void SendHello() {
    AppendFrame(FrameType::kHello, 0, HelloPayload(epoch_), &link_out_);
    next_hello_ = absl::Now() + options_.hello_interval;
  }

  // True when asked to stop.
  bool WaitForWake(absl::Duration timeout) {
    pollfd p{wake_fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) > 0;
  }

  void LinkDown(const std::string& why) {
    if (link_ >= 0) {
      ::close(link_);
      link_ = -1;
      if (!why.empty()) spdlog::info("mux[{}] link down: {}", options_.name, why);
    }
    ResetStreams();
    if (state_ == State::kUp) up_->store(false);
    state_ = opener() ? State::kAwaitAck : State::kAwaitHello;
  }

  void ResetStreams() {
    for (auto& [id, stream] : streams_) ::close(stream.fd);
    streams_.clear();
  }

  void Send(FrameType type, uint32_t id, absl::string_view payload = {}) {
    AppendFrame(type, id, payload, &link_out_);
  }
  size_t LinkPending() const { return link_out_.size() - link_out_offset_; }

  // One round of poll and the work it found; true when asked to stop.
  bool PollOnce() {
    std::vector<pollfd> fds;
    std::vector<uint32_t> ids;   // stream of fds[i], for i >= first_stream
    std::vector<uint32_t> ports; // port of listener fds
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({link_, static_cast<short>(POLLIN | (LinkPending() > 0 ? POLLOUT : 0)), 0});
    if (opener() && state_ == State::kUp) {
      for (auto& [port, fd] : listeners_) {
        fds.push_back({fd, POLLIN, 0});
        ports.push_back(port);
      }
    }
    const size_t first_stream = fds.size();
    for (auto& [id, s] : streams_) {
      short events = 0;
      if (!s.local_eof && s.send_credit > 0 && LinkPending() < kLinkHighWater) events |= POLLIN;
      if (s.out_offset < s.out.size()) events |= POLLOUT;
      fds.push_back({s.fd, events, 0});
      ids.push_back(id);
    }
    int timeout = -1;
    if (opener() && state_ != State::kUp) {
      timeout = static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(next_hello_ - absl::Now())));
    }
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) return false;
    if (fds[0].revents != 0) return true;

    if (fds[1].revents & POLLIN) {
      ReadLink();
    } else if (fds[1].revents & (POLLHUP | POLLERR)) {
      // The other end is gone (no client on the port, or qemu exited):
      // pause before opening it again, so a closed port is not spun on.
      LinkDown("the other end closed");
      return WaitForWake(options_.redial_interval);
    }
    if (link_ < 0) return WaitForWake(options_.redial_interval);

    for (size_t i = 2; i < first_stream; ++i) {
      if (fds[i].revents & POLLIN) Accept(fds[i].fd, ports[i - 2]);
    }
    for (size_t i = first_stream; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      auto it = streams_.find(ids[i - first_stream]);
      if (it == streams_.end()) continue;
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        if (!ReadLocal(it->first, it->second)) continue;
      }
      if (fds[i].revents & (POLLOUT | POLLERR)) WriteLocal(it->first, it->second);
    }
    ReapFinished();
    if (opener() && state_ != State::kUp && absl::Now() >= next_hello_) SendHello();
    FlushLink();
    return false;
  }

  void ReadLink() {
    // A virtio-serial port gives at most a page per read: read until it
    // has nothing more, bounded so local streams get their turn.
    char buffer[64 * 1024];
    size_t round = 0;
    while (link_ >= 0 && round < kLinkHighWater) {
      ssize_t n = ::read(link_, buffer, sizeof(buffer));
      if (n > 0) {
        decoder_.Feed(absl::string_view(buffer, static_cast<size_t>(n)));
        HandleFrames();
        round += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      LinkDown(n == 0 ? "the other end closed" : std::strerror(errno));
    }
  }

  void HandleFrames() {
    Frame frame;
    while (link_ >= 0) {
      if (state_ == State::kAwaitHello && !decoder_.SkipTo(FrameType::kHello)) return;
      if (state_ == State::kAwaitAck && !decoder_.SkipTo(FrameType::kHelloAck)) return;
      FrameDecoder::Result result = decoder_.Next(&frame);
      if (result == FrameDecoder::Result::kNeedMore) return;
      if (result == FrameDecoder::Result::kCorrupt) {
        LostPlace();
        continue;
      }
      Handle(frame);
    }
  }

  void LostPlace() {
    if (opener()) {
      LinkDown("lost its place in the link");  // a new session on the next dial
      return;
    }
    spdlog::warn("mux[{}] lost its place in the link: asking for a new session", options_.name);
    ResetStreams();
    if (state_ == State::kUp) up_->store(false);
    state_ = State::kAwaitHello;
    Send(FrameType::kLinkReset, 0);
  }

  void Handle(const Frame& frame) {
    uint64_t epoch = 0;
    switch (frame.type) {
      case FrameType::kHello:
        if (opener() || !ReadHelloPayload(frame.payload, &epoch)) return;
        if (epoch != epoch_ || state_ != State::kUp) {
          ResetStreams();  // the streams of an earlier session are gone
          epoch_ = epoch;
          state_ = State::kUp;
          up_->store(true);
          sessions_->fetch_add(1);
          spdlog::info("mux[{}] link up", options_.name);
        }
        Send(FrameType::kHelloAck, 0, frame.payload);
        return;
      case FrameType::kHelloAck:
        if (!opener() || state_ == State::kUp) return;
        if (!ReadHelloPayload(frame.payload, &epoch) || epoch != epoch_) return;  // an earlier session's
        state_ = State::kUp;
        up_->store(true);
        sessions_->fetch_add(1);
        spdlog::info("mux[{}] link up", options_.name);
        return;
      case FrameType::kLinkReset:
        if (opener()) LinkDown("the guest lost its place in the link");
        return;
      case FrameType::kOpen:
        if (!opener()) Open(frame.stream, ReadU32Payload(frame.payload));
        return;
      default:
        break;
    }
    auto it = streams_.find(frame.stream);
    if (it == streams_.end()) return;  // already reset here
    Stream& s = it->second;
    switch (frame.type) {
      case FrameType::kData:
        // A peer past its credit is broken: drop the stream, not memory.
        if (s.out.size() - s.out_offset + frame.payload.size() > 2ull * options_.window) {
          Reset(frame.stream, "peer sent past its credit");
          return;
        }
        s.out.append(frame.payload);
        WriteLocal(frame.stream, s);
        return;
      case FrameType::kCredit:
        s.send_credit += ReadU32Payload(frame.payload);
        return;
      case FrameType::kEof:
        s.remote_eof = true;
        WriteLocal(frame.stream, s);
        return;
      case FrameType::kReset:
        ::close(s.fd);
        streams_.erase(it);
        return;
      default:
        return;
    }
  }

  void Open(uint32_t id, uint32_t port) {
    if (auto old = streams_.find(id); old != streams_.end()) {
      ::close(old->second.fd);
      streams_.erase(old);
    }
    auto where = options_.ports.find(port);
    absl::StatusOr<int> fd = where == options_.ports.end()
                                 ? absl::NotFoundError(absl::StrCat("no port ", port))
                                 : tunnel::ConnectUnix(where->second);
    if (!fd.ok()) {
      spdlog::warn("mux[{}] stream to port {} refused: {}", options_.name, port, std::string(fd.status().message()));
      Send(FrameType::kReset, id);
      return;
    }
    SetNonBlocking(*fd);
    AddStream(id, *fd);
  }

  void Accept(int listen_fd, uint32_t port) {
    while (true) {
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      const uint32_t id = next_id_++;
      AddStream(id, fd);
      Send(FrameType::kOpen, id, U32Payload(port));
    }
  }

  void AddStream(uint32_t id, int fd) {
    Stream s;
    s.fd = fd;
    s.send_credit = options_.window;
    streams_.emplace(id, std::move(s));
  }

  void Reset(uint32_t id, const char* why) {
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    spdlog::debug("mux[{}] stream {} reset: {}", options_.name, id, why);
    ::close(it->second.fd);
    streams_.erase(it);
    Send(FrameType::kReset, id);
  }

  // False when the stream was reset.
  bool ReadLocal(uint32_t id, Stream& s) {
    if (s.local_eof) return true;
    while (s.send_credit > 0 && LinkPending() < kLinkHighWater) {
      char buffer[kReadChunk];
      const size_t want = std::min<uint64_t>(sizeof(buffer), s.send_credit);
      ssize_t n = ::read(s.fd, buffer, want);
      if (n > 0) {
        Send(FrameType::kData, id, absl::string_view(buffer, static_cast<size_t>(n)));
        s.send_credit -= static_cast<uint64_t>(n);
        if (static_cast<size_t>(n) < want) return true;
        continue;
      }
      if (n == 0) {
        s.local_eof = true;
        Send(FrameType::kEof, id);
        return true;
      }
      if (errno == EAGAIN || errno == EINTR) return true;
      Reset(id, std::strerror(errno));
      return false;
    }
    return true;
  }

  void WriteLocal(uint32_t id, Stream& s) {
    while (s.out_offset < s.out.size()) {
      ssize_t n = ::send(s.fd, s.out.data() + s.out_offset, s.out.size() - s.out_offset, MSG_NOSIGNAL);
      if (n > 0) {
        s.out_offset += static_cast<size_t>(n);
        s.unreported += static_cast<uint32_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      Reset(id, std::strerror(errno));
      return;
    }
    if (s.out_offset == s.out.size()) {
      s.out.clear();
      s.out_offset = 0;
    }
    if (s.unreported >= options_.window / 4 || (s.unreported > 0 && s.out.empty())) {
      Send(FrameType::kCredit, id, U32Payload(s.unreported));
      s.unreported = 0;
    }
    if (s.remote_eof && s.out.empty() && !s.shut) {
      ::shutdown(s.fd, SHUT_WR);
      s.shut = true;
    }
  }

  void ReapFinished() {
    for (auto it = streams_.begin(); it != streams_.end();) {
      const Stream& s = it->second;
      if (s.local_eof && s.shut) {
        ::close(s.fd);
        streams_.erase(it++);
      } else {
        ++it;
      }
    }
  }

  void FlushLink() {
    while (link_ >= 0 && LinkPending() > 0) {
      ssize_t n = ::write(link_, link_out_.data() + link_out_offset_, LinkPending());
      if (n > 0) {
        link_out_offset_ += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      LinkDown(n == 0 ? "write ended" : std::strerror(errno));
      return;
    }
    if (link_out_offset_ > 0 && (LinkPending() == 0 || link_out_offset_ > kLinkHighWater)) {
      link_out_.erase(0, link_out_offset_);
      link_out_offset_ = 0;
    }
  }

  const MuxOptions& options_;
  const std::map<uint32_t, int>& listeners_;
  const int wake_fd_;
  std::atomic<bool>* up_;
  std::atomic<int>* sessions_;

  int link_ = -1;
  State state_ = State::kAwaitHello;
  uint64_t epoch_ = 0;
  absl::Time next_hello_;
  FrameDecoder decoder_;
  std::string link_out_;
  size_t link_out_offset_ = 0;
  std::string last_dial_error_;
  uint32_t next_id_ = 1;
  absl::flat_hash_map<uint32_t, Stream> streams_;
};

MuxLink::MuxLink(MuxOptions options) : options_(std::move(options)) {}

MuxLink::~MuxLink() { Stop(); }

absl::Status MuxLink::Start() {
  if (options_.role == MuxOptions::Role::kOpener) {
    for (const auto& [port, path] : options_.ports) {
      // Private (0600): only the owner, the VM manager's user, reaches the guest.
      absl::StatusOr<int> fd = tunnel::ListenUnix(path);
      if (!fd.ok()) {
        Stop();
        return fd.status();
      }
      SetNonBlocking(*fd);
      listeners_[port] = *fd;
    }
  }
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return absl::InternalError(std::strerror(errno));
  engine_ = std::make_unique<Engine>(options_, listeners_, wake_fd_, &up_, &sessions_);
  thread_ = std::thread([this] { engine_->Run(); });
  return absl::OkStatus();
}

void MuxLink::Stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  engine_.reset();  // closes the link and every stream
  for (auto& [port, fd] : listeners_) {
    ::close(fd);
    ::unlink(options_.ports[port].c_str());
  }
  listeners_.clear();
  if (wake_fd_ >= 0) ::close(wake_fd_);
  wake_fd_ = -1;
  up_.store(false);
}

}  // namespace switchyard::stream_mux
