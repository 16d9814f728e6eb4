#include "libs/registry_client/http_manifest_reader.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/fakes/fake_manifest_reader.h"

namespace switchyard::registry_client {
namespace {

TEST_CASE("ParseWwwAuthenticate reads Docker Hub's bearer challenge", "[registry_client][unit]") {
  absl::StatusOr<AuthChallenge> c = ParseWwwAuthenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
  REQUIRE(c.ok());
  CHECK(c->scheme == "Bearer");
  CHECK(c->Param("realm") == "https://auth.docker.io/token");
  CHECK(c->Param("service") == "registry.docker.io");
  CHECK(c->Param("scope") == "repository:library/busybox:pull");
  CHECK(c->Param("error").empty());
}

TEST_CASE("ParseWwwAuthenticate variants", "[registry_client][unit]") {
  SECTION("spaces, case, token values, escapes, commas inside quotes") {
    absl::StatusOr<AuthChallenge> c = ParseWwwAuthenticate(
        R"(  bearer Realm = "http://127.0.0.1:1/token?a=1" , service=reg , scope="repository:a:pull,push repository:b:pull", error="insufficient_scope", x="q\"uote")");
    REQUIRE(c.ok());
    CHECK(c->scheme == "bearer");
    CHECK(c->Param("realm") == "http://127.0.0.1:1/token?a=1");
    CHECK(c->Param("service") == "reg");
    CHECK(c->Param("scope") == "repository:a:pull,push repository:b:pull");
    CHECK(c->Param("error") == "insufficient_scope");
    CHECK(c->Param("x") == "q\"uote");
  }
  SECTION("Basic") {
    absl::StatusOr<AuthChallenge> c = ParseWwwAuthenticate(R"(Basic realm="Registry Realm")");
    REQUIRE(c.ok());
    CHECK(c->scheme == "Basic");
    CHECK(c->Param("realm") == "Registry Realm");
  }
  SECTION("scheme only") {
    absl::StatusOr<AuthChallenge> c = ParseWwwAuthenticate("Bearer");
    REQUIRE(c.ok());
    CHECK(c->params.empty());
  }
  SECTION("malformed") {
    for (const char* bad : {"", "   ", R"(realm="x")", R"(Bearer realm="unterminated)", "Bearer realm", "Bearer =x"}) {
      INFO(bad);
      absl::StatusOr<AuthChallenge> c = ParseWwwAuthenticate(bad);
      CHECK_FALSE(c.ok());
      if (!c.ok()) CHECK(c.status().code() == absl::StatusCode::kInvalidArgument);
    }
  }
}

constexpr char kOciIndex[] = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:1", "size": 1,
     "platform": {"architecture": "amd64", "os": "linux"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:2", "size": 1,
     "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:3", "size": 1,
     "platform": {"architecture": "unknown", "os": "unknown"},
     "annotations": {"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": "sha256:1"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:4", "size": 1,
     "platform": {"architecture": "amd64", "os": "linux"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:5", "size": 1}
  ]})";

constexpr char kDockerList[] = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
  "manifests": [
    {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": "sha256:1", "size": 1,
     "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}},
    {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": "sha256:2", "size": 1,
     "platform": {"architecture": "amd64", "os": "windows", "os.version": "10.0.17763.1"}}
  ]})";

constexpr char kDockerManifest[] = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
  "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7,
             "digest": "sha256:cfg"},
  "layers": []})";

TEST_CASE("PlatformsFromManifest: OCI index skips attestations and duplicates", "[registry_client][unit]") {
  absl::StatusOr<ManifestPlatforms> m =
      PlatformsFromManifest("application/vnd.oci.image.index.v1+json; charset=utf-8", kOciIndex);
  REQUIRE(m.ok());
  CHECK(m->is_index);
  CHECK(m->config_digest.empty());
  CHECK(m->platforms == std::vector<Platform>{{"linux", "amd64", ""}, {"linux", "arm64", "v8"}});
  CHECK(m->platforms[1].ToString() == "linux/arm64/v8");
}

TEST_CASE("PlatformsFromManifest: Docker manifest list", "[registry_client][unit]") {
  absl::StatusOr<ManifestPlatforms> m =
      PlatformsFromManifest("application/vnd.docker.distribution.manifest.list.v2+json", kDockerList);
  REQUIRE(m.ok());
  CHECK(m->is_index);
  CHECK(m->platforms == std::vector<Platform>{{"linux", "arm", "v7"}, {"windows", "amd64", ""}});
}

TEST_CASE("PlatformsFromManifest: single manifest names its config", "[registry_client][unit]") {
  absl::StatusOr<ManifestPlatforms> m =
      PlatformsFromManifest("application/vnd.docker.distribution.manifest.v2+json", kDockerManifest);
  REQUIRE(m.ok());
  CHECK_FALSE(m->is_index);
  CHECK(m->platforms.empty());
  CHECK(m->config_digest == "sha256:cfg");

  absl::StatusOr<Platform> p =
      PlatformFromConfig(R"({"architecture":"arm64","os":"linux","variant":"v8","config":{"Cmd":["sh"]}})");
  REQUIRE(p.ok());
  CHECK(p->ToString() == "linux/arm64/v8");
  CHECK(PlatformFromConfig(R"({"architecture":"amd64","os":"linux"})")->ToString() == "linux/amd64");
  CHECK(PlatformFromConfig(R"({"os":"linux"})").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(PlatformFromConfig("[]").status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("PlatformsFromManifest: generic Content-Type falls back to the body", "[registry_client][unit]") {
  CHECK(PlatformsFromManifest("application/json", kOciIndex)->is_index);
  CHECK(PlatformsFromManifest("", kDockerList)->platforms.size() == 2);
  CHECK(PlatformsFromManifest("text/plain", kDockerManifest)->config_digest == "sha256:cfg");
  // No mediaType at all: the shape decides.
  absl::StatusOr<ManifestPlatforms> m =
      PlatformsFromManifest("", R"({"schemaVersion":2,"config":{"digest":"sha256:c"},"layers":[]})");
  REQUIRE(m.ok());
  CHECK(m->config_digest == "sha256:c");
}

TEST_CASE("PlatformsFromManifest: schema 1", "[registry_client][unit]") {
  absl::StatusOr<ManifestPlatforms> m = PlatformsFromManifest(
      "application/vnd.docker.distribution.manifest.v1+prettyjws",
      R"({"schemaVersion":1,"name":"x","tag":"1","architecture":"amd64",
          "history":[{"v1Compatibility":"{\"os\":\"linux\",\"architecture\":\"amd64\"}"}]})");
  REQUIRE(m.ok());
  CHECK(m->platforms == std::vector<Platform>{{"linux", "amd64", ""}});
}

TEST_CASE("PlatformsFromManifest: malformed and unsupported", "[registry_client][unit]") {
  using absl::StatusCode;
  CHECK(PlatformsFromManifest("application/vnd.oci.image.index.v1+json", "not json").status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(PlatformsFromManifest("application/vnd.oci.image.index.v1+json", R"({"manifests":{}})").status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(PlatformsFromManifest("application/vnd.oci.image.manifest.v1+json", R"({"config":{}})").status().code() ==
        StatusCode::kInvalidArgument);
  absl::StatusOr<ManifestPlatforms> m = PlatformsFromManifest("application/x-foo", R"({"mediaType":"x/y"})");
  REQUIRE_FALSE(m.ok());
  CHECK(std::string(m.status().message()) == "unsupported manifest media type \"x/y\"");
}

TEST_CASE("HttpManifestReader picks http for loopback and insecure registries", "[registry_client][unit]") {
  HttpManifestReaderOptions options;
  options.insecure_registries = {"reg.lan:5000", "other.lan"};
  HttpManifestReader reader(options);
  CHECK(reader.SchemeFor("127.0.0.1:5000") == "http");
  CHECK(reader.SchemeFor("localhost") == "http");
  CHECK(reader.SchemeFor("[::1]:5000") == "http");
  CHECK(reader.SchemeFor("reg.lan:5000") == "http");
  CHECK(reader.SchemeFor("reg.lan:5001") == "https");
  CHECK(reader.SchemeFor("other.lan:443") == "http");
  CHECK(reader.SchemeFor("docker.io") == "https");
}

TEST_CASE("FakeManifestReader answers by normalized reference", "[registry_client][unit]") {
  FakeManifestReader fake;
  fake.SetPlatforms("busybox", {{"linux", "amd64", ""}, {"linux", "arm64", "v8"}});
  CHECK(fake.Platforms(*ParseReference("docker.io/library/busybox:latest"))->size() == 2);
  absl::StatusOr<std::vector<Platform>> missing = fake.Platforms(*ParseReference("busybox:nope"));
  REQUIRE_FALSE(missing.ok());
  CHECK(std::string(missing.status().message()) ==
        "manifest for busybox:nope not found: manifest unknown: manifest unknown");
  fake.SetUnavailable(absl::UnavailableError("registry docker.io unreachable"));
  CHECK(absl::IsUnavailable(fake.Platforms(*ParseReference("busybox")).status()));
  CHECK(fake.calls().size() == 3);
}

}  // namespace
}  // namespace switchyard::registry_client
