#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/registry_client/manifest_reader.h"

namespace switchyard::registry_client {

// Media types the reader asks for (in this order of preference).
inline constexpr absl::string_view kMediaTypeOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr absl::string_view kMediaTypeDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr absl::string_view kMediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr absl::string_view kMediaTypeOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr absl::string_view kMediaTypeDockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";

struct BasicCredentials {
  std::string username;
  std::string password;
};

struct HttpManifestReaderOptions {
  // Registries ("host:port" or "host", matching any port) spoken to over
  // plain http. Loopback registries always are.
  std::vector<std::string> insecure_registries;
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration total_timeout = absl::Seconds(20);  // per HTTP request
  // Credentials for a registry (its name as in ImageReference::registry), or
  // nullopt for anonymous access. Used for token requests and Basic challenges.
  std::function<std::optional<BasicCredentials>(absl::string_view registry)> credentials;
  std::string user_agent = "switchyard-registry-client/1";
  size_t max_body_bytes = 8 << 20;
};

// A parsed WWW-Authenticate challenge: scheme ("Bearer", "Basic"; as sent)
// and its auth-params (names lowercased, values unquoted).
struct AuthChallenge {
  std::string scheme;
  absl::flat_hash_map<std::string, std::string> params;

  std::string Param(absl::string_view name) const {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
  }
};

// Parses `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"`.
// InvalidArgument when there is no scheme or the params are malformed.
absl::StatusOr<AuthChallenge> ParseWwwAuthenticate(absl::string_view header);

// What a manifest says about platforms. An index / manifest list names them
// (attestation entries "unknown/unknown" skipped); a single image manifest
// only names its config blob, which holds os/architecture/variant.
struct ManifestPlatforms {
  bool is_index = false;
  std::vector<Platform> platforms;  // index: the entries; schema1: its one platform
  std::string config_digest;        // single manifest: the config blob to read
};

// `content_type` is the reply's Content-Type (parameters ignored); when it is
// missing or generic, the body's "mediaType" and shape decide.
absl::StatusOr<ManifestPlatforms> PlatformsFromManifest(absl::string_view content_type, absl::string_view body);

// Reads os/architecture/variant from an image config blob.
absl::StatusOr<Platform> PlatformFromConfig(absl::string_view body);

// The libcurl implementation: Registry HTTP API v2 with anonymous (or
// hooked Basic) token auth. Thread-safe; each call uses its own handles.
class HttpManifestReader : public ManifestReader {
 public:
  explicit HttpManifestReader(HttpManifestReaderOptions options = {});

  absl::StatusOr<std::vector<Platform>> Platforms(const ImageReference& ref) override;

  // "http" for loopback and insecure registries, else "https".
  std::string SchemeFor(absl::string_view registry) const;

 private:
  HttpManifestReaderOptions options_;
};

}  // namespace switchyard::registry_client
