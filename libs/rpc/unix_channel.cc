#include "libs/rpc/unix_channel.h"

#include <grpcpp/create_channel_posix.h>

#include <chrono>

#include "absl/strings/str_cat.h"

namespace switchyard::rpc {
namespace {

grpc::ChannelArguments Arguments() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  // Peers are local processes that restart: retry connecting quickly.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return args;
}

}  // namespace

std::shared_ptr<grpc::Channel> UnixChannel(absl::string_view socket_path) {
  return grpc::CreateCustomChannel(absl::StrCat("unix:", socket_path),
                                   grpc::InsecureChannelCredentials(), Arguments());
}

std::shared_ptr<grpc::Channel> FdChannel(int fd) {
  return grpc::CreateCustomInsecureChannelFromFd("fd", fd, Arguments());
}

void SetTimeout(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
}

}  // namespace switchyard::rpc
