#include "libs/tunnel/tunnel_header.h"

#include <arpa/inet.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace switchyard::tunnel {
namespace {

bool IsIpLiteral(absl::string_view ip) {
  if (ip.empty() || ip.size() >= INET6_ADDRSTRLEN) return false;
  std::string s(ip);
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

absl::string_view ProtocolName(Protocol protocol) { return protocol == Protocol::kUdp ? "udp" : "tcp"; }

absl::StatusOr<Protocol> ParseProtocol(absl::string_view name) {
  if (name == "tcp") return Protocol::kTcp;
  if (name == "udp") return Protocol::kUdp;
  return absl::InvalidArgumentError(absl::StrCat("unknown protocol \"", absl::CEscape(name), "\""));
}

std::string FormatHeader(const TunnelTarget& target) {
  return absl::StrCat(ProtocolName(target.protocol), " ", target.ip.empty() ? "0.0.0.0" : target.ip, " ", target.port,
                      "\n");
}

absl::StatusOr<TunnelTarget> ParseHeader(absl::string_view line) {
  if (line.size() >= kMaxLineLength) return absl::InvalidArgumentError("header too long");
  std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
  if (fields.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat("malformed header \"", absl::CEscape(line), "\""));
  }
  TunnelTarget target;
  auto protocol = ParseProtocol(fields[0]);
  if (!protocol.ok()) return protocol.status();
  target.protocol = *protocol;
  if (!IsIpLiteral(fields[1])) {
    return absl::InvalidArgumentError(absl::StrCat("bad address \"", absl::CEscape(fields[1]), "\""));
  }
  target.ip = std::string(fields[1]);
  // Digits only (no sign, no spaces), at most 5 of them, then range-checked.
  absl::string_view port = fields[2];
  bool digits = !port.empty() && port.size() <= 5;
  for (char c : port) digits = digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
  int value = 0;
  if (digits) {
    for (char c : port) value = value * 10 + (c - '0');
  }
  if (!digits || value < 1 || value > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port \"", absl::CEscape(port), "\""));
  }
  target.port = value;
  return target;
}

std::string FormatReply(const absl::Status& status) {
  if (status.ok()) return "OK\n";
  std::string text(status.message());
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  constexpr size_t kMaxText = kMaxLineLength - 5;  // "ERR " and the newline
  if (text.size() > kMaxText) text.resize(kMaxText);
  return absl::StrCat("ERR ", text, "\n");
}

absl::Status ParseReply(absl::string_view line) {
  if (line == "OK") return absl::OkStatus();
  if (absl::StartsWith(line, "ERR ")) return absl::UnavailableError(line.substr(4));
  return absl::InternalError(absl::StrCat("unexpected tunnel reply \"", absl::CEscape(line), "\""));
}

}  // namespace switchyard::tunnel
