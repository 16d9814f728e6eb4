#pragma once

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchyard::tunnel {

// The port-tunnel handshake between the VM manager and the guest agent, on
// the agent's raw tunnel endpoint (vsock port 1025 in a VM): the manager
// writes one header line, the agent dials inside the guest and answers one
// reply line; then the stream carries the connection's bytes (TCP) or framed
// datagrams (UDP).
//
//   manager → agent:  "tcp 0.0.0.0 80\n" | "udp 127.0.0.1 53\n"
//   agent → manager:  "OK\n" | "ERR <text>\n"

enum class Protocol { kTcp, kUdp };

absl::string_view ProtocolName(Protocol protocol);
// "tcp" or "udp", exactly.
absl::StatusOr<Protocol> ParseProtocol(absl::string_view name);

struct TunnelTarget {
  Protocol protocol = Protocol::kTcp;
  // An IP literal inside the guest; "0.0.0.0" (or "::") means the guest's own
  // address, where the guest engine's DNAT rules catch published ports.
  std::string ip;
  int port = 0;

  bool operator==(const TunnelTarget&) const = default;
};

// Longest header or reply line accepted, newline included.
inline constexpr size_t kMaxLineLength = 128;

// The header line, newline included; an empty ip is sent as "0.0.0.0".
std::string FormatHeader(const TunnelTarget& target);
// Parses a header line without its newline. Strict: one space between three
// fields, a known protocol, an IP literal, a decimal port in 1..65535.
absl::StatusOr<TunnelTarget> ParseHeader(absl::string_view line);

// "OK\n" for ok, else "ERR <message>\n" (kept to one bounded line).
std::string FormatReply(const absl::Status& status);
// Parses a reply line without its newline: ok, or UNAVAILABLE with the
// agent's text, or INTERNAL for anything else.
absl::Status ParseReply(absl::string_view line);

}  // namespace switchyard::tunnel
