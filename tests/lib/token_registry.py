"""A tiny registry on loopback that demands Docker's bearer-token dance.

    from token_registry import TokenRegistry
    with TokenRegistry() as tr:                 # serves fixed content
        tr.addr -> "127.0.0.1:PORT"
    with TokenRegistry(upstream="127.0.0.1:5000") as tr:   # proxies /v2/ to a real registry

Every /v2/... request without `Authorization: Bearer <token>` gets 401 with
`WWW-Authenticate: Bearer realm="http://ADDR/token",service="sy-token-test",scope="repository:REPO:pull"`.
GET /token?service=sy-token-test&scope=repository:REPO:pull answers
{"token": ...} (or {"access_token": ...} with token_field="access_token").
With basic_auth=("user", "pw"), the token endpoint also requires those Basic
credentials (as an authenticated Docker Hub login would).

Fixed content (no upstream):
    sy/multi:latest   OCI index: linux/amd64, linux/arm64/v8, linux/s390x and
                      an unknown/unknown attestation entry
    sy/single:latest  OCI manifest whose config blob says linux/arm/v7
    anything else     404 MANIFEST_UNKNOWN

`.log` records (method, path, status) for each request, so tests can assert
the dance happened. Runs in a thread of the test process; stop() shuts it down.
"""

import base64
import hashlib
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVICE = "sy-token-test"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"


def _digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _fixed_content():
    config = json.dumps({"architecture": "arm", "os": "linux", "variant": "v7",
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    single = json.dumps({"schemaVersion": 2, "mediaType": MT_MANIFEST,
                         "config": {"mediaType": MT_CONFIG, "digest": _digest(config), "size": len(config)},
                         "layers": []}).encode()
    fake = "sha256:" + "0" * 64
    index = json.dumps({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [
        {"mediaType": MT_MANIFEST, "digest": fake, "size": 1, "platform": {"architecture": "amd64", "os": "linux"}},
        {"mediaType": MT_MANIFEST, "digest": fake, "size": 1,
         "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
        {"mediaType": MT_MANIFEST, "digest": fake, "size": 1, "platform": {"architecture": "s390x", "os": "linux"}},
        {"mediaType": MT_MANIFEST, "digest": fake, "size": 1, "platform": {"architecture": "unknown", "os": "unknown"},
         "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
    ]}).encode()
    manifests = {("sy/multi", "latest"): (MT_INDEX, index), ("sy/single", "latest"): (MT_MANIFEST, single)}
    blobs = {("sy/single", _digest(config)): config}
    return manifests, blobs


class TokenRegistry:
    def __init__(self, upstream=None, token_field="token", basic_auth=None):
        self.upstream = upstream
        self.token_field = token_field
        self.basic_auth = basic_auth
        self.token = "sy-test-token-" + hashlib.sha256(str(id(self)).encode()).hexdigest()[:16]
        self.manifests, self.blobs = _fixed_content()
        self.log = []
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    @property
    def addr(self):
        return "127.0.0.1:%d" % self._server.server_address[1]

    @property
    def url(self):
        return "http://" + self.addr

    def _record(self, method, path, status):
        with self._lock:
            self.log.append((method, path, status))

    def statuses(self, prefix):
        with self._lock:
            return [s for (_, p, s) in self.log if p.startswith(prefix)]

    def start(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _send(self, status, body=b"", ctype="application/json", headers=()):
                owner._record(self.command, self.path, status)  # before the client can see the reply
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Docker-Distribution-API-Version", "registry/2.0")
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _errors(self, status, code, message, headers=()):
                body = json.dumps({"errors": [{"code": code, "message": message, "detail": None}]}).encode()
                self._send(status, body, headers=headers)

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                if u.path == "/token":
                    return self._token(urllib.parse.parse_qs(u.query))
                if not u.path.startswith("/v2/"):
                    return self._errors(404, "NOT_FOUND", "not found")
                m = re.match(r"^/v2/(.+)/(manifests|blobs)/([^/]+)$", u.path)
                repo = m.group(1) if m else ""
                if self.headers.get("Authorization") != "Bearer " + owner.token:
                    challenge = 'Bearer realm="%s/token",service="%s"' % (owner.url, SERVICE)
                    if repo:
                        challenge += ',scope="repository:%s:pull"' % repo
                    return self._errors(401, "UNAUTHORIZED", "authentication required",
                                        headers=[("WWW-Authenticate", challenge)])
                if owner.upstream:
                    return self._proxy()
                if not m:
                    return self._send(200, b"{}")
                kind, ref = m.group(2), m.group(3)
                if kind == "manifests":
                    found = owner.manifests.get((repo, ref))
                    if not found:
                        return self._errors(404, "MANIFEST_UNKNOWN", "manifest unknown")
                    return self._send(200, found[1], ctype=found[0],
                                      headers=[("Docker-Content-Digest", _digest(found[1]))])
                blob = owner.blobs.get((repo, ref))
                if blob is None:
                    return self._errors(404, "BLOB_UNKNOWN", "blob unknown to registry")
                return self._send(200, blob, ctype="application/octet-stream")

            do_HEAD = do_GET

            def _token(self, q):
                if owner.basic_auth:
                    want = "Basic " + base64.b64encode(("%s:%s" % owner.basic_auth).encode()).decode()
                    if self.headers.get("Authorization") != want:
                        return self._errors(401, "UNAUTHORIZED", "incorrect username or password")
                scope = (q.get("scope") or [""])[0]
                if q.get("service") != [SERVICE] or not re.match(r"^repository:[a-z0-9._/-]+:pull$", scope):
                    return self._errors(400, "DENIED", "bad token request %r" % (q,))
                body = {owner.token_field: owner.token, "expires_in": 300}
                return self._send(200, json.dumps(body).encode())

            def _proxy(self):
                req = urllib.request.Request("http://%s%s" % (owner.upstream, self.path), method=self.command)
                if self.headers.get("Accept"):
                    req.add_header("Accept", self.headers["Accept"])
                try:
                    with urllib.request.urlopen(req, timeout=10) as r:
                        status, body, ctype = r.status, r.read(), r.headers.get("Content-Type", "")
                except urllib.error.HTTPError as e:
                    status, body, ctype = e.code, e.read(), e.headers.get("Content-Type", "")
                return self._send(status, body, ctype=ctype or "application/octet-stream")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="token-registry", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
