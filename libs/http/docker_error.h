#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace switchyard::http {

// moby's httpstatus mapping: NotFound 404, InvalidArgument 400,
// AlreadyExists/Conflict 409, Unavailable 503, Unimplemented 501,
// PermissionDenied 403, else 500.
int HttpStatusFor(absl::StatusCode code);

// {"message":"…"}\n, exactly as dockerd writes an error body.
std::string ErrorBody(absl::string_view message);

}  // namespace switchyard::http

namespace switchyard::http {

// The inverse of HttpStatusFor, for a dockerd error answer: keeps the
// message of its {"message": …} body.
absl::Status StatusFromDockerError(int http_status, absl::string_view body);

}  // namespace switchyard::http
