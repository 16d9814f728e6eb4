#include "libs/registry_client/http_manifest_reader.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace switchyard::registry_client {
namespace {

using nlohmann::json;

std::string Lower(absl::string_view s) { return absl::AsciiStrToLower(s); }

std::string StringField(const json& obj, const char* name) {
  if (!obj.is_object()) return "";
  auto it = obj.find(name);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

bool IsIndexType(absl::string_view mt) { return mt == kMediaTypeOciIndex || mt == kMediaTypeDockerList; }
bool IsManifestType(absl::string_view mt) { return mt == kMediaTypeDockerManifest || mt == kMediaTypeOciManifest; }
bool IsSchema1Type(absl::string_view mt) {
  return mt == kMediaTypeDockerSchema1Signed || mt == "application/vnd.docker.distribution.manifest.v1+json";
}

// ---- libcurl plumbing ------------------------------------------------------

struct HttpResponse {
  long status = 0;
  std::string content_type;
  std::string body;
  std::vector<std::string> www_authenticate;
};

struct Transfer {
  HttpResponse* response;
  size_t max_body;
  bool too_large = false;
};

size_t OnBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * nmemb;
  if (t->response->body.size() + n > t->max_body) {
    t->too_large = true;
    return 0;
  }
  t->response->body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * nmemb;
  absl::string_view line(data, n);
  if (absl::StartsWith(line, "HTTP/")) {  // a new response (redirect, 100): start over
    t->response->www_authenticate.clear();
    return n;
  }
  size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return n;
  if (Lower(absl::StripAsciiWhitespace(line.substr(0, colon))) == "www-authenticate") {
    t->response->www_authenticate.emplace_back(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return n;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

std::string QueryEscape(absl::string_view s) {
  char* e = curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size()));
  std::string out = e ? e : "";
  curl_free(e);
  return out;
}

// The registry's {"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}
// as distribution's errcode prints it: "manifest unknown: manifest unknown".
std::string RegistryErrors(absl::string_view body, std::string* first_code = nullptr) {
  json doc = json::parse(body, nullptr, false);
  if (!doc.is_object() || !doc.contains("errors") || !doc["errors"].is_array()) return "";
  std::vector<std::string> parts;
  for (const json& e : doc["errors"]) {
    std::string code = StringField(e, "code");
    std::string message = StringField(e, "message");
    if (first_code && first_code->empty()) *first_code = code;
    std::string text = Lower(code);
    std::replace(text.begin(), text.end(), '_', ' ');
    if (text.empty()) text = "unknown";
    if (!message.empty()) absl::StrAppend(&text, ": ", message);
    parts.push_back(text);
  }
  return absl::StrJoin(parts, "; ");
}

// One Platforms() call: the base URL, the reference and the credentials
// earned so far (a bearer token is reused for the config blob).
class Session {
 public:
  Session(const HttpManifestReaderOptions& options, const ImageReference& ref, std::string scheme)
      : options_(options), ref_(ref), base_(absl::StrCat(scheme, "://", ref.ApiHost())),
        loopback_(IsLoopbackRegistry(ref.registry)) {}

  std::string ManifestUrl() const {
    return absl::StrCat(base_, "/v2/", ref_.repository, "/manifests/", ref_.ManifestReference());
  }
  std::string BlobUrl(absl::string_view digest) const {
    return absl::StrCat(base_, "/v2/", ref_.repository, "/blobs/", digest);
  }

  // GET with the auth dance: on 401, answer the challenge once and retry.
  absl::StatusOr<HttpResponse> Get(const std::string& url, const std::string& accept) {
    absl::StatusOr<HttpResponse> resp = Perform(url, accept, bearer_, use_basic_);
    if (!resp.ok() || resp->status != 401 || answered_challenge_) return resp;
    answered_challenge_ = true;
    absl::Status answered = AnswerChallenge(*resp);
    if (!answered.ok()) return answered;
    if (bearer_.empty() && !use_basic_) return resp;  // nothing we can answer with
    return Perform(url, accept, bearer_, use_basic_);
  }

  // Docker's error for a non-200 reply.
  absl::Status StatusFor(const HttpResponse& resp, const std::string& url, absl::string_view blob_digest) const {
    std::string code;
    std::string errors = RegistryErrors(resp.body, &code);
    if (resp.status == 404) {
      if (!blob_digest.empty()) {
        return absl::NotFoundError(absl::StrCat("config blob ", blob_digest, " of ", ref_.FamiliarString(),
                                                " not found: ", errors.empty() ? "blob unknown" : errors));
      }
      if (code == "NAME_UNKNOWN") {
        return absl::NotFoundError(absl::StrCat("repository ", ref_.FamiliarName(), " not found: ", errors));
      }
      return absl::NotFoundError(absl::StrCat("manifest for ", ref_.FamiliarString(), " not found: ",
                                              errors.empty() ? "manifest unknown: manifest unknown" : errors));
    }
    if (resp.status == 401 || resp.status == 403) {
      return absl::NotFoundError(absl::StrCat(
          "pull access denied for ", ref_.FamiliarName(),
          ", repository does not exist or may require 'docker login': ",
          errors.empty() ? "denied: requested access to the resource is denied" : errors));
    }
    if (resp.status == 429) {
      return absl::UnavailableError(absl::StrCat("registry ", ref_.registry, ": ",
                                                 errors.empty() ? "toomanyrequests: too many requests" : errors));
    }
    return absl::UnavailableError(absl::StrCat("registry ", ref_.registry, " answered ", resp.status, " to GET \"",
                                               url, "\"", errors.empty() ? "" : ": ", errors));
  }

 private:
  absl::Status AnswerChallenge(const HttpResponse& resp) {
    std::optional<AuthChallenge> bearer, basic;
    for (const std::string& header : resp.www_authenticate) {
      absl::StatusOr<AuthChallenge> c = ParseWwwAuthenticate(header);
      if (!c.ok()) continue;
      if (Lower(c->scheme) == "bearer" && !bearer) bearer = *c;
      if (Lower(c->scheme) == "basic" && !basic) basic = *c;
    }
    std::optional<BasicCredentials> creds;
    if (options_.credentials) creds = options_.credentials(ref_.registry);
    if (bearer) {
      absl::StatusOr<std::string> token = FetchToken(*bearer, creds);
      if (!token.ok()) return token.status();
      bearer_ = *token;
      return absl::OkStatus();
    }
    if (basic && creds) {
      basic_ = *creds;
      use_basic_ = true;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> FetchToken(const AuthChallenge& challenge, const std::optional<BasicCredentials>& creds) {
    std::string realm = challenge.Param("realm");
    if (!absl::StartsWith(realm, "http://") && !absl::StartsWith(realm, "https://")) {
      return absl::UnavailableError(absl::StrCat("registry ", ref_.registry,
                                                 " sent a bearer challenge without a usable realm: \"", realm, "\""));
    }
    std::vector<std::string> query;
    if (std::string service = challenge.Param("service"); !service.empty()) {
      query.push_back(absl::StrCat("service=", QueryEscape(service)));
    }
    std::string scope = challenge.Param("scope");
    if (scope.empty()) scope = absl::StrCat("repository:", ref_.repository, ":pull");
    for (absl::string_view s : absl::StrSplit(scope, ' ', absl::SkipEmpty())) {
      query.push_back(absl::StrCat("scope=", QueryEscape(s)));
    }
    std::string url = realm;
    if (!query.empty()) absl::StrAppend(&url, realm.find('?') == std::string::npos ? "?" : "&", absl::StrJoin(query, "&"));

    std::optional<BasicCredentials> saved = basic_;
    if (creds) basic_ = *creds;
    absl::StatusOr<HttpResponse> resp = Perform(url, "application/json", "", creds.has_value());
    basic_ = saved;
    if (!resp.ok()) return resp.status();
    if (resp->status == 401 || resp->status == 403) {
      std::string errors = RegistryErrors(resp->body);
      return absl::PermissionDeniedError(absl::StrCat("registry ", ref_.registry, " refused a token for ", scope, ": ",
                                                      errors.empty() ? "unauthorized" : errors));
    }
    if (resp->status != 200) {
      return absl::UnavailableError(absl::StrCat("registry ", ref_.registry, ": token server answered ",
                                                 resp->status, " to GET \"", realm, "\""));
    }
    json doc = json::parse(resp->body, nullptr, false);
    std::string token = StringField(doc, "token");
    if (token.empty()) token = StringField(doc, "access_token");
    if (token.empty()) {
      return absl::UnavailableError(absl::StrCat("registry ", ref_.registry, ": token server at ", realm,
                                                 " returned no token"));
    }
    return token;
  }

  absl::StatusOr<HttpResponse> Perform(const std::string& url, const std::string& accept, const std::string& bearer,
                                       bool basic) const {
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl) return absl::InternalError("curl_easy_init failed");
    HttpResponse response;
    Transfer transfer{&response, options_.max_body_bytes};
    char errbuf[CURL_ERROR_SIZE] = {0};

    curl_slist* raw = nullptr;
    raw = curl_slist_append(raw, absl::StrCat("Accept: ", accept).c_str());
    if (!bearer.empty()) raw = curl_slist_append(raw, absl::StrCat("Authorization: Bearer ", bearer).c_str());
    std::unique_ptr<curl_slist, SlistDeleter> headers(raw);

    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);  // blobs redirect to storage; auth stays on this host
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(options_.total_timeout)));
    curl_easy_setopt(c, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    if (loopback_) curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (basic && basic_) {
      curl_easy_setopt(c, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
      curl_easy_setopt(c, CURLOPT_USERNAME, basic_->username.c_str());
      curl_easy_setopt(c, CURLOPT_PASSWORD, basic_->password.c_str());
    }

    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
      if (transfer.too_large) {
        return absl::InvalidArgumentError(absl::StrCat("registry ", ref_.registry, ": reply to GET \"", url,
                                                       "\" is larger than ", options_.max_body_bytes, " bytes"));
      }
      std::string detail = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
      return absl::UnavailableError(absl::StrCat("registry ", ref_.registry, " unreachable: Get \"", url, "\": ",
                                                 detail));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
    char* ct = nullptr;
    if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct) response.content_type = ct;
    return response;
  }

  const HttpManifestReaderOptions& options_;
  const ImageReference& ref_;
  std::string base_;
  bool loopback_;
  bool answered_challenge_ = false;
  std::string bearer_;
  std::optional<BasicCredentials> basic_;
  bool use_basic_ = false;
};

std::string AcceptManifests() {
  return absl::StrJoin({kMediaTypeOciIndex, kMediaTypeDockerList, kMediaTypeDockerManifest, kMediaTypeOciManifest,
                        kMediaTypeDockerSchema1Signed},
                       ", ");
}

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed manifest: ", what));
}

}  // namespace

// ---- pure helpers ----------------------------------------------------------

absl::StatusOr<AuthChallenge> ParseWwwAuthenticate(absl::string_view header) {
  absl::string_view rest = absl::StripAsciiWhitespace(header);
  size_t sp = rest.find_first_of(" \t");
  AuthChallenge out;
  out.scheme = std::string(rest.substr(0, sp));
  if (out.scheme.empty() || out.scheme.find_first_of("=,\"") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("invalid WWW-Authenticate header: \"", header, "\""));
  }
  rest = sp == absl::string_view::npos ? absl::string_view() : rest.substr(sp);
  while (true) {
    rest = absl::StripLeadingAsciiWhitespace(rest);
    while (absl::ConsumePrefix(&rest, ",")) rest = absl::StripLeadingAsciiWhitespace(rest);
    if (rest.empty()) break;
    size_t eq = rest.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("invalid WWW-Authenticate header: \"", header, "\""));
    }
    std::string name = Lower(absl::StripAsciiWhitespace(rest.substr(0, eq)));
    if (name.empty() || name.find_first_of(" \t,\"") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("invalid WWW-Authenticate header: \"", header, "\""));
    }
    rest = absl::StripLeadingAsciiWhitespace(rest.substr(eq + 1));
    std::string value;
    if (absl::ConsumePrefix(&rest, "\"")) {
      bool closed = false;
      size_t i = 0;
      for (; i < rest.size(); ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) {
          value.push_back(rest[++i]);
        } else if (rest[i] == '"') {
          closed = true;
          break;
        } else {
          value.push_back(rest[i]);
        }
      }
      if (!closed) {
        return absl::InvalidArgumentError(absl::StrCat("invalid WWW-Authenticate header: unterminated quote in \"",
                                                       header, "\""));
      }
      rest = rest.substr(i + 1);
    } else {
      size_t end = rest.find(',');
      value = std::string(absl::StripTrailingAsciiWhitespace(rest.substr(0, end)));
      rest = end == absl::string_view::npos ? absl::string_view() : rest.substr(end);
    }
    out.params[name] = value;
  }
  return out;
}

absl::StatusOr<ManifestPlatforms> PlatformsFromManifest(absl::string_view content_type, absl::string_view body) {
  json doc = json::parse(body, nullptr, false);
  if (!doc.is_object()) return Malformed("not a JSON object");
  std::string mt = Lower(absl::StripAsciiWhitespace(content_type.substr(0, content_type.find(';'))));
  if (!IsIndexType(mt) && !IsManifestType(mt) && !IsSchema1Type(mt)) {
    // Generic or missing Content-Type: the body decides.
    mt = StringField(doc, "mediaType");
    if (mt.empty()) {
      if (doc.contains("manifests")) mt = std::string(kMediaTypeOciIndex);
      else if (doc.contains("config")) mt = std::string(kMediaTypeOciManifest);
      else if (doc.value("schemaVersion", 0) == 1) mt = std::string(kMediaTypeDockerSchema1Signed);
    }
  }

  ManifestPlatforms out;
  if (IsIndexType(mt)) {
    out.is_index = true;
    if (!doc.contains("manifests") || !doc["manifests"].is_array()) return Malformed("index without \"manifests\"");
    for (const json& entry : doc["manifests"]) {
      if (!entry.is_object() || !entry.contains("platform")) continue;
      const json& p = entry["platform"];
      Platform platform{StringField(p, "os"), StringField(p, "architecture"), StringField(p, "variant")};
      if (platform.architecture.empty() || platform.os.empty()) continue;
      if (platform.os == "unknown" && platform.architecture == "unknown") continue;  // attestations
      if (entry.contains("annotations") &&
          StringField(entry["annotations"], "vnd.docker.reference.type") == "attestation-manifest") {
        continue;
      }
      if (std::find(out.platforms.begin(), out.platforms.end(), platform) == out.platforms.end()) {
        out.platforms.push_back(std::move(platform));
      }
    }
    return out;
  }
  if (IsManifestType(mt)) {
    if (!doc.contains("config") || !doc["config"].is_object()) return Malformed("manifest without \"config\"");
    out.config_digest = StringField(doc["config"], "digest");
    if (out.config_digest.empty()) return Malformed("manifest config without \"digest\"");
    return out;
  }
  if (IsSchema1Type(mt)) {
    Platform platform{"linux", StringField(doc, "architecture"), ""};
    if (doc.contains("history") && doc["history"].is_array() && !doc["history"].empty()) {
      json v1 = json::parse(StringField(doc["history"][0], "v1Compatibility"), nullptr, false);
      if (std::string os = StringField(v1, "os"); !os.empty()) platform.os = os;
      if (std::string arch = StringField(v1, "architecture"); !arch.empty()) platform.architecture = arch;
      platform.variant = StringField(v1, "variant");
    }
    if (platform.architecture.empty()) return Malformed("schema 1 manifest without \"architecture\"");
    out.platforms.push_back(std::move(platform));
    return out;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported manifest media type \"", mt.empty() ? std::string(content_type) : mt, "\""));
}

absl::StatusOr<Platform> PlatformFromConfig(absl::string_view body) {
  json doc = json::parse(body, nullptr, false);
  if (!doc.is_object()) return absl::InvalidArgumentError("malformed image config: not a JSON object");
  Platform p{StringField(doc, "os"), StringField(doc, "architecture"), StringField(doc, "variant")};
  if (p.architecture.empty() || p.os.empty()) {
    return absl::InvalidArgumentError("image config names no os/architecture: not a container image");
  }
  return p;
}

// ---- HttpManifestReader ----------------------------------------------------

HttpManifestReader::HttpManifestReader(HttpManifestReaderOptions options) : options_(std::move(options)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string HttpManifestReader::SchemeFor(absl::string_view registry) const {
  if (IsLoopbackRegistry(registry)) return "http";
  absl::string_view host = registry;
  if (!absl::StartsWith(host, "[")) host = host.substr(0, host.find(':'));
  else host = host.substr(0, host.find(']') + 1);
  for (const std::string& insecure : options_.insecure_registries) {
    if (insecure == registry || insecure == host) return "http";
  }
  return "https";
}

absl::StatusOr<std::vector<Platform>> HttpManifestReader::Platforms(const ImageReference& ref) {
  Session session(options_, ref, SchemeFor(ref.registry));
  const std::string manifest_url = session.ManifestUrl();
  absl::StatusOr<HttpResponse> resp = session.Get(manifest_url, AcceptManifests());
  if (!resp.ok()) return resp.status();
  if (resp->status != 200) return session.StatusFor(*resp, manifest_url, "");

  absl::StatusOr<ManifestPlatforms> manifest = PlatformsFromManifest(resp->content_type, resp->body);
  if (!manifest.ok()) {
    return absl::Status(manifest.status().code(),
                        absl::StrCat(ref.FamiliarString(), ": ", manifest.status().message()));
  }
  if (manifest->is_index || manifest->config_digest.empty()) return manifest->platforms;

  const std::string blob_url = session.BlobUrl(manifest->config_digest);
  absl::StatusOr<HttpResponse> blob = session.Get(blob_url, "application/json, */*");
  if (!blob.ok()) return blob.status();
  if (blob->status != 200) return session.StatusFor(*blob, blob_url, manifest->config_digest);
  absl::StatusOr<Platform> platform = PlatformFromConfig(blob->body);
  if (!platform.ok()) {
    return absl::Status(platform.status().code(), absl::StrCat(ref.FamiliarString(), ": ", platform.status().message()));
  }
  return std::vector<Platform>{*platform};
}

}  // namespace switchyard::registry_client
