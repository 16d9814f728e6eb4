#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchyard::registry_client {

// A fully normalized image reference, as Docker's distribution/reference
// package normalizes it: "busybox" is registry "docker.io", repository
// "library/busybox", tag "latest".
struct ImageReference {
  std::string registry;    // "docker.io", "127.0.0.1:5000", "localhost", "[::1]:5000"
  std::string repository;  // "library/busybox", "sy/busybox"
  std::string tag;         // "latest" when neither tag nor digest was given
  std::string digest;      // "sha256:<64 hex>" or empty

  // "docker.io/library/busybox:latest", "host:5000/x@sha256:…".
  std::string ToString() const;
  // Docker's short form: "busybox:latest", "user/app@sha256:…".
  std::string FamiliarString() const;
  // Docker's short name without tag/digest: "busybox", "127.0.0.1:5000/sy/x".
  std::string FamiliarName() const;
  // The host[:port] the Registry API is served on ("registry-1.docker.io").
  std::string ApiHost() const;
  // What goes after /manifests/: the digest when there is one, else the tag.
  std::string ManifestReference() const;

  bool operator==(const ImageReference&) const = default;
};

inline constexpr absl::string_view kDockerHubRegistry = "docker.io";
inline constexpr absl::string_view kDockerHubApiHost = "registry-1.docker.io";

// Parses and normalizes a reference. InvalidArgument with dockerd's wording
// ("invalid reference format", "invalid reference format: repository name
// (library/Busybox) must be lowercase") for anything Docker would refuse.
absl::StatusOr<ImageReference> ParseReference(absl::string_view text);

// True for 127.0.0.0/8, "localhost" and [::1], with or without a port.
bool IsLoopbackRegistry(absl::string_view registry);

}  // namespace switchyard::registry_client
