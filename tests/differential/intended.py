"""Where switchyard answers differently from a plain dockerd on purpose,
each with its reason. Keys are Req.key: "<kind> <METHOD> <pattern>". The
suite fails when an entry stops differing, so the list never goes stale."""

INTENDED = {
}
