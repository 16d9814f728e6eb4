#pragma once

#include "absl/status/status.h"

namespace switchyard::tunnel {

// The guest end of a UDP tunnel: datagrams framed on `stream` go out of the
// connected UDP socket `udp`, and datagrams arriving on `udp` come back
// framed. Runs until the stream ends (the VM manager closes idle flows) or
// fails. A datagram that cannot be sent right now is dropped, as UDP may.
// Closes neither descriptor.
absl::Status RelayDatagrams(int stream, int udp);

}  // namespace switchyard::tunnel
