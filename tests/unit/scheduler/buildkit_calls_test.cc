#include <catch2/catch.hpp>
#include <thread>

#include "absl/strings/escaping.h"
#include "services/scheduler/buildkit/build_refs.h"
#include "services/scheduler/buildkit/control_calls.h"
#include "services/scheduler/buildkit/progress_note.h"
#include "services/scheduler/recent_builds.h"
#include "switchyard/buildkit_wire/v1/buildkit_wire.pb.h"

namespace switchyard::scheduler::buildkit {
namespace {

namespace wire = switchyard::buildkit_wire::v1;

TEST_CASE("each BuildKit method is routed by its kind", "[scheduler][buildkit][unit]") {
  CHECK(KindOf("/moby.buildkit.v1.Control/Solve") == CallKind::kControlSolve);
  CHECK(KindOf("/moby.buildkit.v1.Control/Status") == CallKind::kStatus);
  CHECK(KindOf("/moby.buildkit.v1.Control/ListWorkers") == CallKind::kMergedUnary);
  CHECK(KindOf("/moby.buildkit.v1.Control/DiskUsage") == CallKind::kMergedUnary);
  CHECK(KindOf("/moby.buildkit.v1.Control/Prune") == CallKind::kMergedStream);
  CHECK(KindOf("/moby.buildkit.v1.Control/Info") == CallKind::kNative);
  CHECK(KindOf("/moby.buildkit.v1.frontend.LLBBridge/Ping") == CallKind::kBridge);
  CHECK(KindOf("/moby.buildkit.v1.frontend.LLBBridge/Solve") == CallKind::kBridge);
  CHECK(KindOf("/grpc.health.v1.Health/Check") == CallKind::kNative);
}

TEST_CASE("a Solve names its platform in its frontend attributes or its definition", "[scheduler][buildkit][unit]") {
  wire::ControlSolveRequest request;
  request.set_ref("ref1");
  request.set_session("sess1");
  request.set_frontend("dockerfile.v0");
  (*request.mutable_frontend_attrs())["platform"] = "linux/arm64,linux/amd64";
  auto* exporter = request.add_exporters();
  exporter->set_type("moby");
  (*exporter->mutable_attrs())["name"] = "app:1,app:latest";
  std::optional<ControlSolve> solve = ParseControlSolve(request.SerializeAsString());
  REQUIRE(solve);
  CHECK(solve->ref == "ref1");
  CHECK(solve->session == "sess1");
  CHECK(solve->platform == "linux/arm64");  // the docker driver builds the first
  CHECK(solve->tag == "app:1");
  CHECK_FALSE(solve->internal);

  // An LLB definition (buildctl, a client-side frontend): its ops' platform.
  wire::ControlSolveRequest llb;
  llb.set_ref("ref2");
  wire::Op source;  // no platform
  wire::Op exec;
  exec.mutable_platform()->set_os("linux");
  exec.mutable_platform()->set_architecture("arm");
  exec.mutable_platform()->set_variant("v7");
  llb.mutable_definition()->add_def(source.SerializeAsString());
  llb.mutable_definition()->add_def(exec.SerializeAsString());
  (*llb.mutable_exporter_attrs())["name"] = "old:1";
  solve = ParseControlSolve(llb.SerializeAsString());
  REQUIRE(solve);
  CHECK(solve->platform == "linux/arm/v7");
  CHECK(solve->tag == "old:1");

  // buildx's capability probe: internal, no platform.
  wire::ControlSolveRequest probe;
  probe.set_ref("ref3");
  probe.set_internal(true);
  solve = ParseControlSolve(probe.SerializeAsString());
  REQUIRE(solve);
  CHECK(solve->platform.empty());
  CHECK(solve->internal);

  CHECK_FALSE(ParseControlSolve("\xff\xff\xff").has_value());
}

TEST_CASE("ListWorkers answers of both VMs join into one", "[scheduler][buildkit][unit]") {
  auto answer = [](const std::string& id, const std::vector<std::string>& archs) {
    wire::ListWorkersResponse response;
    auto* worker = response.add_record();
    worker->set_id(id);
    for (const auto& arch : archs) {
      auto* p = worker->add_platforms();
      p->set_os("linux");
      p->set_architecture(arch);
    }
    return response.SerializeAsString();
  };
  const std::string merged = MergeUnaryAnswers({answer("hv", {"amd64"}), answer("vz", {"arm64", "amd64"})});
  CHECK(WorkerPlatforms(merged) == std::vector<std::string>{"linux/amd64", "linux/arm64", "linux/amd64"});
  wire::ListWorkersResponse parsed;
  REQUIRE(parsed.ParseFromString(merged));
  REQUIRE(parsed.record_size() == 2);
  CHECK(parsed.record(1).id() == "vz");
}

TEST_CASE("a build's Status and gateway calls wait for its Solve", "[scheduler][buildkit][unit]") {
  BuildRefs refs;
  CHECK_FALSE(refs.Await("early", absl::Milliseconds(10)).has_value());
  std::thread solve([&] {
    absl::SleepFor(absl::Milliseconds(50));
    refs.Begin("early", {"vz", "note"});
  });
  std::optional<BuildRefs::Binding> found = refs.Await("early", absl::Seconds(10));
  solve.join();
  REQUIRE(found);
  CHECK(found->backend == "vz");
  CHECK(refs.Find("early")->note == "note");
  // Refs are forgotten hours after their Solve, not while a build runs.
  refs.Begin("old", {"hv", ""}, absl::Now() - absl::Hours(7));
  refs.Begin("new", {"hv", ""});
  CHECK_FALSE(refs.Find("old").has_value());
}

TEST_CASE("the first progress line is a finished BuildKit step, or a classic stream line",
          "[scheduler][buildkit][unit]") {
  wire::StatusResponse status;
  REQUIRE(status.ParseFromString(ProgressNote("[switchyard] building on vz: why")));
  REQUIRE(status.vertexes_size() == 1);
  CHECK(status.vertexes(0).name() == "[switchyard] building on vz: why");
  CHECK(status.vertexes(0).digest().size() == std::string("sha256:").size() + 64);
  CHECK(status.vertexes(0).completed().seconds() >= status.vertexes(0).started().seconds());

  CHECK(BuildAnswerPreface("hello", false) == "{\"stream\":\"hello\\n\"}\r\n");
  const std::string traced = BuildAnswerPreface("hello", true);
  CHECK(traced.find("\"id\":\"moby.buildkit.trace\"") != std::string::npos);
}

TEST_CASE("explain finds recent builds by tag or ref, newest first", "[scheduler][unit]") {
  RecentBuilds builds;
  builds.Add({"classic", "", "app", "", "hv", "FROM busybox", absl::Now()});
  builds.Add({"buildx", "r2", "app:2", "linux/arm64", "vz", "platform linux/arm64", absl::Now()});
  builds.Add({"buildx", "r3", "app", "", "hv", "no platform", absl::Now()});
  CHECK(builds.Find("app").size() == 2);  // app and app:latest
  CHECK(builds.Find("app")[0].ref == "r3");
  CHECK(builds.Find("r2")[0].backend == "vz");
  CHECK(builds.Find("").size() == 3);
  CHECK(builds.Find("nothing").empty());
}

}  // namespace
}  // namespace switchyard::scheduler::buildkit
