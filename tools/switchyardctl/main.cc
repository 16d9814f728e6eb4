// switchyardctl: diagnostics over the scheduler's gRPC API.
//   switchyardctl explain CONTAINER
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "libs/rpc/unix_channel.h"
#include "switchyard/scheduler/v1/scheduler.grpc.pb.h"

ABSL_FLAG(std::string, run_dir, "/run/switchyard", "run directory holding scheduler.sock");

int main(int argc, char** argv) {
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 3 || std::string(args[1]) != "explain") {
    std::cerr << "usage: switchyardctl explain CONTAINER\n";
    return 2;
  }
  auto stub = switchyard::scheduler::v1::Scheduler::NewStub(
      switchyard::rpc::UnixChannel(absl::StrCat(absl::GetFlag(FLAGS_run_dir), "/scheduler.sock")));
  grpc::ClientContext context;
  switchyard::rpc::SetTimeout(context, absl::Seconds(10));
  switchyard::scheduler::v1::ExplainContainerRequest request;
  request.set_container(args[2]);
  switchyard::scheduler::v1::ExplainContainerResponse response;
  grpc::Status status = stub->ExplainContainer(&context, request, &response);
  if (!status.ok()) {
    std::cerr << "switchyardctl: " << status.error_message() << "\n";
    return 1;
  }
  std::cout << "container " << response.id() << "\nbackend   " << response.backend() << "\nrule      "
            << response.rule() << "\n";
  return 0;
}
