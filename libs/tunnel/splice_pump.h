#pragma once

#include "absl/status/status.h"

namespace switchyard::tunnel {

// Copies bytes both ways between two connected stream sockets (TCP or Unix)
// with splice(2) through a pipe per direction, so payload never passes
// through user space. Runs until both directions have reached EOF; an EOF
// on one side is passed on as shutdown(SHUT_WR) on the other, so half-closed
// protocols keep working. Returns early with an error when a side fails
// (reset, broken pipe). Makes both sockets non-blocking; closes neither.
// The process must ignore SIGPIPE: splice(2) to a closed socket raises it.
absl::Status SpliceBoth(int a, int b);

}  // namespace switchyard::tunnel
