#include "services/scheduler/buildkit/control_calls.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "switchyard/buildkit_wire/v1/buildkit_wire.pb.h"

namespace switchyard::scheduler::buildkit {
namespace {

namespace wire = switchyard::buildkit_wire::v1;

constexpr absl::string_view kControl = "/moby.buildkit.v1.Control/";
constexpr absl::string_view kBridge = "/moby.buildkit.v1.frontend.LLBBridge/";

std::string PlatformString(const wire::Platform& p) {
  if (p.os().empty() || p.architecture().empty()) return "";
  std::string out = absl::StrCat(p.os(), "/", p.architecture());
  if (!p.variant().empty()) absl::StrAppend(&out, "/", p.variant());
  return out;
}

// The first platform an LLB definition's ops name.
std::string DefinitionPlatform(const wire::Definition& definition) {
  for (const std::string& bytes : definition.def()) {
    wire::Op op;
    if (!op.ParseFromString(bytes)) continue;
    std::string platform = PlatformString(op.platform());
    if (!platform.empty()) return platform;
  }
  return "";
}

// `--platform a,b` asks for several, and an exporter's `name` lists tags so:
// the docker driver builds one platform; the first tag names the build.
std::string FirstListed(absl::string_view attr) {
  return std::string(absl::StripAsciiWhitespace(std::vector<absl::string_view>(absl::StrSplit(attr, ',')).front()));
}

}  // namespace

CallKind KindOf(absl::string_view method) {
  if (absl::StartsWith(method, kControl)) {
    absl::string_view name = method.substr(kControl.size());
    if (name == "Solve") return CallKind::kControlSolve;
    if (name == "Status") return CallKind::kStatus;
    if (name == "ListWorkers" || name == "DiskUsage") return CallKind::kMergedUnary;
    if (name == "Prune") return CallKind::kMergedStream;
    return CallKind::kNative;
  }
  if (absl::StartsWith(method, kBridge)) {
    return CallKind::kBridge;
  }
  return CallKind::kNative;
}

std::optional<ControlSolve> ParseControlSolve(absl::string_view message) {
  wire::ControlSolveRequest request;
  if (!request.ParseFromArray(message.data(), static_cast<int>(message.size()))) return std::nullopt;
  ControlSolve solve{request.ref(), request.session(), "", "", request.internal()};
  if (auto name = request.exporter_attrs().find("name"); name != request.exporter_attrs().end()) {
    solve.tag = FirstListed(name->second);
  }
  for (const auto& exporter : request.exporters()) {
    if (auto name = exporter.attrs().find("name"); solve.tag.empty() && name != exporter.attrs().end()) {
      solve.tag = FirstListed(name->second);
    }
  }
  auto attr = request.frontend_attrs().find("platform");
  if (attr != request.frontend_attrs().end()) solve.platform = FirstListed(attr->second);
  if (solve.platform.empty() && request.has_definition()) solve.platform = DefinitionPlatform(request.definition());
  return solve;
}

std::optional<std::string> ParseStatusRef(absl::string_view message) {
  wire::StatusRequest request;
  if (!request.ParseFromArray(message.data(), static_cast<int>(message.size()))) return std::nullopt;
  return request.ref();
}

std::string MergeUnaryAnswers(const std::vector<std::string>& answers) {
  std::string merged;
  for (const std::string& answer : answers) merged += answer;
  return merged;
}

std::vector<std::string> WorkerPlatforms(absl::string_view list_workers_answer) {
  wire::ListWorkersResponse response;
  std::vector<std::string> platforms;
  if (!response.ParseFromArray(list_workers_answer.data(), static_cast<int>(list_workers_answer.size()))) {
    return platforms;
  }
  for (const auto& worker : response.record()) {
    for (const auto& p : worker.platforms()) platforms.push_back(PlatformString(p));
  }
  return platforms;
}

}  // namespace switchyard::scheduler::buildkit
