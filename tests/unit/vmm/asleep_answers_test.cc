#include "services/vmm/asleep_answers.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>

#include "libs/docker_text/container_status.h"

namespace switchyard::vmm {
namespace {

// An engine with one exited container, one image, a volume and a network,
// as dockerd 20.10 answers.
absl::StatusOr<std::pair<int, std::string>> Engine(const std::string& target) {
  static const std::map<std::string, std::string> answers = {
      {"/containers/json?all=1",
       R"([{"Id":"c0ffee11aa","Names":["/web"],"Image":"busybox","State":"exited","Status":"Exited (0) 2 seconds ago",
            "Labels":{"com.docker.compose.project":"shop"}}])"},
      {"/containers/c0ffee11aa/json",
       R"({"Id":"c0ffee11aa","Name":"/web","State":{"Status":"exited","Running":false,"ExitCode":0,
            "StartedAt":"2026-12-03T18:00:00Z","FinishedAt":"2026-12-03T18:00:01Z"}})"},
      {"/images/json", R"([{"Id":"sha256:abcdef0123456789","RepoTags":["busybox:latest"]}])"},
      {"/images/json?all=1", R"([{"Id":"sha256:abcdef0123456789","RepoTags":["busybox:latest"]}])"},
      {"/images/sha256:abcdef0123456789/json",
       R"({"Id":"sha256:abcdef0123456789","RepoTags":["busybox:latest"],"Architecture":"arm64"})"},
      {"/volumes", R"({"Volumes":[{"Name":"data"}],"Warnings":null})"},
      {"/networks", R"([{"Name":"bridge"}])"},
      {"/info", R"({"Containers":1,"ContainersRunning":0,"ContainersStopped":1,"Architecture":"aarch64"})"},
      {"/version", R"({"Version":"20.10.24"})"}};
  auto it = answers.find(target);
  if (it == answers.end()) return std::make_pair(404, std::string(R"({"message":"page not found"})"));
  return std::make_pair(200, it->second);
}

TEST_CASE("a sleeping VM's reads are answered from what its engine last reported", "[vmm][unit]") {
  absl::StatusOr<AsleepSnapshot> taken = AsleepSnapshot::Take(Engine);
  REQUIRE(taken.ok());
  const std::string path = (std::filesystem::temp_directory_path() / "sy-asleep-test.json").string();
  REQUIRE(taken->Save(path).ok());
  std::optional<AsleepSnapshot> snapshot = AsleepSnapshot::Load(path);  // as after a manager restart
  std::filesystem::remove(path);
  REQUIRE(snapshot);
  const absl::Time now = docker_text::ParseDockerTime("2026-12-03T19:00:01Z");
  auto body = [&](const std::string& target) {
    std::optional<types::v1::DockerReply> reply = snapshot->Answer("GET", target, now);
    REQUIRE(reply);
    REQUIRE(reply->status() == 200);
    return nlohmann::json::parse(reply->body());
  };

  // `docker ps -a`: the Status computed now, as dockerd would.
  nlohmann::json rows = body("/v1.41/containers/json?all=1");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["Status"] == "Exited (0) About an hour ago");
  CHECK(body("/v1.41/containers/json").empty());  // nothing runs in a sleeping VM
  CHECK(body("/v1.41/containers/json?all=1&filters=%7B%22label%22%3A%5B%22com.docker.compose.project%3Dshop%22%5D%7D")
            .size() == 1);
  CHECK(body("/v1.41/containers/json?all=1&filters=%7B%22name%22%3A%7B%22db%22%3Atrue%7D%7D").empty());
  // A filter it does not apply: the VM must wake.
  CHECK_FALSE(snapshot->Answer("GET", "/v1.41/containers/json?all=1&filters=%7B%22health%22%3A%5B%22healthy%22%5D%7D",
                               now));

  CHECK(body("/v1.41/containers/web/json")["Id"] == "c0ffee11aa");
  CHECK(body("/v1.41/containers/c0ffee/json")["Name"] == "/web");
  std::optional<types::v1::DockerReply> missing = snapshot->Answer("GET", "/v1.41/containers/nope/json", now);
  REQUIRE(missing);
  CHECK(missing->status() == 404);
  CHECK(nlohmann::json::parse(missing->body())["message"] == "No such container: nope");

  CHECK(body("/v1.41/images/busybox/json")["Architecture"] == "arm64");
  CHECK(body("/v1.41/images/abcdef012345/json")["Id"] == "sha256:abcdef0123456789");
  CHECK(snapshot->Answer("GET", "/v1.41/images/alpine/json", now)->status() == 404);
  CHECK(body("/v1.41/images/json").size() == 1);
  CHECK(body("/v1.41/volumes")["Volumes"][0]["Name"] == "data");
  CHECK(body("/v1.41/networks")[0]["Name"] == "bridge");
  nlohmann::json info = body("/v1.41/info");
  CHECK(info["ContainersRunning"] == 0);
  CHECK(info["ContainersStopped"] == 1);

  // Anything that changes state, or reads a stream, needs the VM.
  CHECK_FALSE(snapshot->Answer("POST", "/v1.41/containers/web/start", now));
  CHECK_FALSE(snapshot->Answer("GET", "/v1.41/containers/web/logs?stdout=1", now));
  CHECK_FALSE(snapshot->Answer("DELETE", "/v1.41/containers/web", now));
}

TEST_CASE("a snapshot is not taken from an engine that cannot be read", "[vmm][unit]") {
  auto failing = [](const std::string& target) -> absl::StatusOr<std::pair<int, std::string>> {
    if (target == "/volumes") return absl::UnavailableError("engine gone");
    return Engine(target);
  };
  CHECK_FALSE(AsleepSnapshot::Take(failing).ok());
}

}  // namespace
}  // namespace switchyard::vmm
