// switchyardctl: diagnostics and group pinning over the scheduler's gRPC API.
//   switchyardctl explain CONTAINER
//   switchyardctl explain build [TAG|REF]
//   switchyardctl group pin GROUP BACKEND
//   switchyardctl group ls
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "libs/rpc/unix_channel.h"
#include "switchyard/scheduler/v1/scheduler.grpc.pb.h"

ABSL_FLAG(std::string, run_dir, "/run/switchyard", "run directory holding scheduler.sock");

namespace {

namespace pb = switchyard::scheduler::v1;

constexpr char kUsage[] =
    "usage: switchyardctl explain CONTAINER\n"
    "       switchyardctl explain build [TAG|REF]   (recent builds: where each ran and why)\n"
    "       switchyardctl group pin GROUP BACKEND   (GROUP: compose:PROJECT, pod:UID, lone:ID; BACKEND: hv|vz)\n"
    "       switchyardctl group ls\n";

int Failed(const grpc::Status& status) {
  std::cerr << "switchyardctl: " << status.error_message() << "\n";
  return 1;
}

void PrintGroup(const pb::Group& g) {
  std::cout << g.id() << "\t" << g.backend() << "\t" << (g.pinned() ? "pinned" : "-") << "\t" << g.members()
            << "\t" << g.rule() << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> parsed = absl::ParseCommandLine(argc, argv);
  std::vector<std::string> args(parsed.begin() + 1, parsed.end());
  auto stub = pb::Scheduler::NewStub(
      switchyard::rpc::UnixChannel(absl::StrCat(absl::GetFlag(FLAGS_run_dir), "/scheduler.sock")));
  grpc::ClientContext context;
  switchyard::rpc::SetTimeout(context, absl::Seconds(10));

  if ((args.size() == 2 || args.size() == 3) && args[0] == "explain" && args[1] == "build") {
    pb::ExplainBuildsRequest request;
    if (args.size() == 3) request.set_build(args[2]);
    pb::ExplainBuildsResponse response;
    grpc::Status status = stub->ExplainBuilds(&context, request, &response);
    if (!status.ok()) return Failed(status);
    for (const auto& b : response.builds()) {
      std::cout << "build     " << (b.tag().empty() ? "-" : b.tag()) << "\nkind      " << b.kind() << "\nref       "
                << (b.ref().empty() ? "-" : b.ref()) << "\nbackend   " << b.backend() << "\nplatform  "
                << (b.platform().empty() ? "-" : b.platform()) << "\nrule      " << b.rule() << "\nstarted   "
                << absl::FormatTime(absl::RFC3339_sec, absl::FromUnixSeconds(b.started_unix()), absl::UTCTimeZone())
                << "\n\n";
    }
    return 0;
  }
  if (args.size() == 2 && args[0] == "explain") {
    pb::ExplainContainerRequest request;
    request.set_container(args[1]);
    pb::ExplainContainerResponse response;
    grpc::Status status = stub->ExplainContainer(&context, request, &response);
    if (!status.ok()) return Failed(status);
    std::cout << "container " << response.id() << "\nname      " << response.name() << "\nbackend   "
              << response.backend() << "\ngroup     " << response.group() << "\nplatform  "
              << (response.platform().empty() ? "-" : response.platform()) << "\nrule      " << response.rule()
              << "\n";
    return 0;
  }
  if (args.size() == 4 && args[0] == "group" && args[1] == "pin") {
    pb::PinGroupRequest request;
    request.set_group(args[2]);
    request.set_backend(args[3]);
    pb::PinGroupResponse response;
    grpc::Status status = stub->PinGroup(&context, request, &response);
    if (!status.ok()) return Failed(status);
    std::cout << "group " << response.group().id() << " pinned to " << response.group().backend() << "\n";
    return 0;
  }
  if (args.size() == 2 && args[0] == "group" && args[1] == "ls") {
    pb::ListGroupsResponse response;
    grpc::Status status = stub->ListGroups(&context, {}, &response);
    if (!status.ok()) return Failed(status);
    std::cout << "GROUP\tBACKEND\tPINNED\tMEMBERS\tRULE\n";
    for (const auto& g : response.groups()) PrintGroup(g);
    return 0;
  }
  std::cerr << kUsage;
  return 2;
}
