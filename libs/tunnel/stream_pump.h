#pragma once

#include "absl/status/status.h"

namespace switchyard::tunnel {

// Copies bytes both ways between two connected stream sockets (TCP or Unix)
// until both directions have reached EOF; an EOF on one side is passed on as
// shutdown(SHUT_WR) on the other, so half-closed protocols keep working.
// Returns early with an error when a side fails (reset, broken pipe). Makes
// both sockets non-blocking; closes neither; never raises SIGPIPE.
//
// It copies through a buffer per direction rather than splice(2): measured
// here (kernel 6.18, 2 cores), read/write in 1 MiB steps moves bulk data
// about 1.1x faster than splice from host loopback to a container, 1.4x on
// plain loopback; splice's cost is per 4 KiB page. A direction starts with a
// small buffer, so short exchanges stay cheap, and grows it once a read
// fills it (bulk data is waiting).
absl::Status PumpBoth(int a, int b);

}  // namespace switchyard::tunnel
