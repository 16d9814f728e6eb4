// switchyard-registry-platforms REF [--insecure=host:port,...]
// Prints the platforms an image in a registry offers, one os/arch[/variant]
// a line. Exit 0 on success, 2 when the image is not found, 3 for an invalid
// reference, 1 otherwise (the error on stderr).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "libs/registry_client/http_manifest_reader.h"
#include "libs/registry_client/image_reference.h"

ABSL_FLAG(std::vector<std::string>, insecure, {}, "registries (host:port or host) spoken to over plain http");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(5), "connect timeout");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(20), "timeout per HTTP request");
ABSL_FLAG(std::string, user, "", "USER:PASSWORD for the registry (default: anonymous)");

namespace rc = switchyard::registry_client;

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("switchyard-registry-platforms REF [--insecure=host:port,...]");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) {
    std::cerr << "usage: switchyard-registry-platforms REF [--insecure=host:port,...]\n";
    return 64;
  }
  absl::StatusOr<rc::ImageReference> ref = rc::ParseReference(args[1]);
  if (!ref.ok()) {
    std::cerr << "error: " << ref.status().message() << "\n";
    return 3;
  }
  rc::HttpManifestReaderOptions options;
  options.insecure_registries = absl::GetFlag(FLAGS_insecure);
  options.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  options.total_timeout = absl::GetFlag(FLAGS_timeout);
  if (std::string user = absl::GetFlag(FLAGS_user); !user.empty()) {
    std::pair<std::string, std::string> up = absl::StrSplit(user, absl::MaxSplits(':', 1));
    options.credentials = [up](absl::string_view) { return rc::BasicCredentials{up.first, up.second}; };
  }
  rc::HttpManifestReader reader(std::move(options));
  absl::StatusOr<std::vector<rc::Platform>> platforms = reader.Platforms(*ref);
  if (!platforms.ok()) {
    std::cerr << "error: " << platforms.status().message() << "\n";
    return absl::IsNotFound(platforms.status()) ? 2 : 1;
  }
  for (const rc::Platform& p : *platforms) std::cout << p.ToString() << "\n";
  return 0;
}
