"""The differential suite's requests, made from the Engine API document:
per endpoint, an unknown object, a malformed JSON body, a wrong method,
malformed query values, and the platforms and list filters a client may
send. Nothing here reaches a registry: endpoints that would are sent only
what is refused before any lookup."""

import json
import os
import urllib.parse

import yaml

SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "reference",
                    "docker-engine-api-v1.41.yaml")
UNKNOWN = "nosuch-dt0"

# Endpoints that talk to a registry (or to the network) once past parsing.
REGISTRY = {"/images/create", "/images/search", "/distribution/{name}/json", "/plugins/pull",
            "/plugins/privileges", "/plugins/{name}/upgrade", "/plugins/{name}/push", "/images/{name}/push",
            "/auth", "/swarm/join"}
# Endpoints that stream until the client leaves, or change the engine as a whole.
NOT_CALLED_PLAIN = {"/events", "/images/get", "/swarm/init", "/swarm/leave", "/swarm/update", "/swarm/unlock",
                    "/containers/prune", "/images/prune", "/volumes/prune", "/networks/prune", "/build/prune",
                    "/build", "/images/load", "/session", "/plugins/create", "/containers/create",
                    "/volumes/create", "/networks/create", "/secrets/create", "/configs/create",
                    "/services/create", "/commit"}
METHODS = ("GET", "POST", "PUT", "DELETE")


class Req:
    def __init__(self, kind, method, path, pattern, body=None, headers=None):
        self.kind, self.method, self.path, self.pattern = kind, method, path, pattern
        self.body, self.headers = body, headers or {}

    @property
    def key(self):
        return "%s %s %s" % (self.kind, self.method, self.pattern)

    def target(self):
        return "/v1.41" + self.path


def _spec():
    with open(SPEC) as f:
        return yaml.safe_load(f)


def _fill(pattern, value=UNKNOWN):
    out = pattern
    while "{" in out:
        a, b = out.index("{"), out.index("}")
        out = out[:a] + urllib.parse.quote(value, safe="") + out[b + 1:]
    return out


def _json_body(op):
    if not any(p.get("in") == "body" for p in op.get("parameters", [])):
        return False
    consumes = op.get("consumes") or ["application/json"]
    return "application/json" in consumes


def _query_params(op):
    return {p["name"]: p for p in op.get("parameters", []) if p.get("in") == "query"}


def endpoint_requests():
    """Requests made per endpoint of the document."""
    out = []
    for pattern, ops in _spec()["paths"].items():
        methods = [m.upper() for m in ops if m.upper() in METHODS + ("HEAD",)]
        has_param = "{" in pattern
        for m in methods:
            op = ops[m.lower()]
            if has_param and pattern not in REGISTRY:
                out.append(Req("unknown-object", m, _fill(pattern), pattern,
                               body=b"{}" if _json_body(op) else None))
            elif not has_param and m == "GET" and pattern not in NOT_CALLED_PLAIN | REGISTRY:
                out.append(Req("plain-call", m, pattern, pattern))
            if _json_body(op) and pattern not in REGISTRY - {"/auth"}:
                out.append(Req("bad-json", m, _fill(pattern), pattern, body=b"{bad json"))
            q = _query_params(op)
            if "filters" in q and not has_param and pattern not in REGISTRY:
                out.append(Req("bad-filters", m, pattern + "?filters=notjson", pattern))
        wrong = next(m for m in METHODS if m not in methods)
        out.append(Req("wrong-method", wrong, _fill(pattern), pattern))
    return out


def _filters(f):
    return "filters=" + urllib.parse.quote(json.dumps(f))


def crafted_requests(image):
    """Platforms and filters that name objects, on an image and a container
    both engines hold ("dt-c")."""
    out = []
    for platform in ("linuxDifferentOS/amd64", "linux/amd64DifferentArch", "linux/arm64/v8/extra", "",
                     "windows/amd64", "linux",
                     # Arch and variant spellings, normalized as dockerd does; the
                     # image is amd64, so only the native ones match it.
                     "linux/amd64", "linux/amd64/v1", "linux/x86_64", "linux/386", "linux/arm64/v8",
                     "linux/aarch64", "linux/arm/v7", "linux/armhf", "linux/arm", "linux/arm/v6"):
        q = urllib.parse.urlencode({"platform": platform})
        out.append(Req("platform", "POST", "/containers/create?" + q, "/containers/create?platform=" + platform,
                       body=json.dumps({"Image": image, "Cmd": ["true"]}).encode()))
    for key, value in (("since", UNKNOWN), ("before", UNKNOWN), ("since", "dt-c"), ("before", "dt-c"),
                       ("ancestor", UNKNOWN), ("volume", UNKNOWN), ("network", UNKNOWN), ("label", "a=b"),
                       ("status", "bogus"), ("health", "bogus"), ("expose", "notaport"), ("publish", "80/bogus"),
                       ("is-task", "maybe"), ("bogus", "x")):
        out.append(Req("filter", "GET", "/containers/json?all=1&" + _filters({key: {value: True}}),
                       "/containers/json filters=%s:%s" % (key, value)))
    for key, value in (("since", UNKNOWN), ("before", UNKNOWN), ("reference", "x"), ("dangling", "maybe"),
                       ("bogus", "x")):
        out.append(Req("filter", "GET", "/images/json?" + _filters({key: {value: True}}),
                       "/images/json filters=%s:%s" % (key, value)))
    for path, query in (("/containers/json", "limit=abc"), ("/containers/dt-c/json", "size=maybe"),
                        ("/containers/dt-c/logs", "stdout=1&since=notatime"),
                        ("/containers/dt-c/stop", "t=abc"), ("/containers/dt-c/kill", "signal=SIGBOGUS"),
                        ("/containers/dt-c/wait", "condition=bogus"), ("/containers/dt-c/archive", "path=/nosuch"),
                        ("/containers/dt-c/top", "ps_args=--bogus-flag")):
        method = "POST" if path.endswith(("/stop", "/kill", "/wait")) else "GET"
        out.append(Req("bad-query", method, path + "?" + query, path + "?" + query))
    out.append(Req("exec-bad-json", "POST", "/containers/%s/exec" % UNKNOWN, "/containers/{id}/exec",
                   body=b"{bad"))
    out.append(Req("exec-bad-json", "POST", "/exec/%s/start" % UNKNOWN, "/exec/{id}/start", body=b"{bad"))
    out.append(Req("volumes-from", "POST", "/containers/create",
                   "/containers/create VolumesFrom=" + UNKNOWN,
                   body=json.dumps({"Image": image, "HostConfig": {"VolumesFrom": [UNKNOWN]}}).encode()))
    return out
