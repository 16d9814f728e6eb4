#include "libs/registry_client/image_reference.h"

#include <arpa/inet.h>

#include <regex>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace switchyard::registry_client {
namespace {

// The grammar of github.com/distribution/reference (regexp.go).
const std::regex& DomainRegex() {
  static const std::regex re(
      R"(^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$)");
  return re;
}
const std::regex& PathComponentRegex() {
  static const std::regex re(R"(^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$)");
  return re;
}
const std::regex& TagRegex() {
  static const std::regex re(R"(^[\w][\w.-]{0,127}$)");
  return re;
}
const std::regex& DigestRegex() {
  static const std::regex re(R"(^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$)");
  return re;
}
const std::regex& HexIdRegex() {
  static const std::regex re(R"(^[a-f0-9]{64}$)");
  return re;
}

constexpr size_t kNameTotalLengthMax = 255;

absl::Status InvalidFormat() { return absl::InvalidArgumentError("invalid reference format"); }

bool Matches(absl::string_view s, const std::regex& re) {
  return std::regex_match(s.begin(), s.end(), re);
}

absl::Status ValidateDigest(absl::string_view digest) {
  if (!Matches(digest, DigestRegex())) return InvalidFormat();
  size_t colon = digest.find(':');
  absl::string_view algorithm = digest.substr(0, colon);
  absl::string_view hex = digest.substr(colon + 1);
  size_t want = 0;
  if (algorithm == "sha256") want = 64;
  else if (algorithm == "sha384") want = 96;
  else if (algorithm == "sha512") want = 128;
  else return absl::InvalidArgumentError("unsupported digest algorithm");
  if (hex.size() != want || absl::AsciiStrToLower(hex) != hex) {
    return absl::InvalidArgumentError("invalid checksum digest format");
  }
  return absl::OkStatus();
}

// Docker's splitDockerDomain (normalize.go).
void SplitDockerDomain(absl::string_view name, std::string* domain, std::string* remainder) {
  size_t slash = name.find('/');
  absl::string_view first = slash == absl::string_view::npos ? absl::string_view() : name.substr(0, slash);
  if (slash == absl::string_view::npos ||
      (first.find_first_of(".:") == absl::string_view::npos && first != "localhost" &&
       absl::AsciiStrToLower(first) == first)) {
    *domain = std::string(kDockerHubRegistry);
    *remainder = std::string(name);
  } else {
    *domain = std::string(first);
    *remainder = std::string(name.substr(slash + 1));
  }
  if (*domain == "index.docker.io") *domain = std::string(kDockerHubRegistry);
  if (*domain == kDockerHubRegistry && remainder->find('/') == std::string::npos) {
    *remainder = absl::StrCat("library/", *remainder);
  }
}

}  // namespace

std::string ImageReference::ToString() const {
  std::string out = absl::StrCat(registry, "/", repository);
  if (!tag.empty()) absl::StrAppend(&out, ":", tag);
  if (!digest.empty()) absl::StrAppend(&out, "@", digest);
  return out;
}

std::string ImageReference::FamiliarName() const {
  if (registry != kDockerHubRegistry) return absl::StrCat(registry, "/", repository);
  absl::string_view repo = repository;
  if (absl::StartsWith(repo, "library/") && repo.find('/', 8) == absl::string_view::npos) {
    repo.remove_prefix(8);
  }
  return std::string(repo);
}

std::string ImageReference::FamiliarString() const {
  std::string out = FamiliarName();
  if (!tag.empty()) absl::StrAppend(&out, ":", tag);
  if (!digest.empty()) absl::StrAppend(&out, "@", digest);
  return out;
}

std::string ImageReference::ApiHost() const {
  if (registry == kDockerHubRegistry) return std::string(kDockerHubApiHost);
  return registry;
}

std::string ImageReference::ManifestReference() const { return digest.empty() ? tag : digest; }

absl::StatusOr<ImageReference> ParseReference(absl::string_view text) {
  if (text.empty()) return InvalidFormat();
  if (Matches(text, HexIdRegex())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid repository name (", text, "), cannot specify 64-byte hexadecimal strings"));
  }

  std::string domain, remainder;
  SplitDockerDomain(text, &domain, &remainder);
  {
    std::string remote = remainder.substr(0, remainder.find(':'));
    if (absl::AsciiStrToLower(remote) != remote) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid reference format: repository name (", remote, ") must be lowercase"));
    }
  }

  ImageReference ref;
  ref.registry = domain;
  absl::string_view rest = remainder;
  if (size_t at = rest.find('@'); at != absl::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (absl::Status s = ValidateDigest(ref.digest); !s.ok()) return s;
  }
  size_t last_slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != absl::string_view::npos && (last_slash == absl::string_view::npos || colon > last_slash)) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!Matches(ref.tag, TagRegex())) return InvalidFormat();
  }
  if (rest.empty()) return InvalidFormat();
  for (absl::string_view component : absl::StrSplit(rest, '/')) {
    if (!Matches(component, PathComponentRegex())) return InvalidFormat();
  }
  if (!Matches(domain, DomainRegex())) return InvalidFormat();
  ref.repository = std::string(rest);
  if (domain.size() + 1 + ref.repository.size() > kNameTotalLengthMax) {
    return absl::InvalidArgumentError("repository name must not be more than 255 characters");
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

bool IsLoopbackRegistry(absl::string_view registry) {
  absl::string_view host = registry;
  if (absl::StartsWith(host, "[")) {
    size_t close = host.find(']');
    if (close == absl::string_view::npos) return false;
    host = host.substr(1, close - 1);
    return host == "::1";
  }
  if (size_t colon = host.find(':'); colon != absl::string_view::npos) host = host.substr(0, colon);
  if (absl::AsciiStrToLower(host) == "localhost") return true;
  in_addr addr{};
  std::string h(host);
  if (inet_pton(AF_INET, h.c_str(), &addr) != 1) return false;
  return (ntohl(addr.s_addr) >> 24) == 127;
}

}  // namespace switchyard::registry_client
