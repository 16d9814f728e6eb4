#include "services/gateway/http_connection.h"

#include <catch2/catch.hpp>

#include <thread>

namespace switchyard::gateway {
namespace {

namespace asio = boost::asio;

// A connection whose client side the test drives byte by byte.
struct Pair {
  asio::io_context io;
  Socket client{io};
  std::unique_ptr<HttpConnection> server;
  Pair() {
    Socket server_side(io);
    asio::local::connect_pair(client, server_side);
    server = std::make_unique<HttpConnection>(std::move(server_side));
  }
  void Send(const std::string& bytes) { asio::write(client, asio::buffer(bytes)); }
  // Everything the server wrote, once it has closed.
  std::string ReceiveAll() {
    server.reset();
    std::string out;
    boost::system::error_code ec;
    char buf[4096];
    for (;;) {
      size_t n = client.read_some(asio::buffer(buf), ec);
      out.append(buf, n);
      if (ec) break;
    }
    return out;
  }
};

}  // namespace

TEST_CASE("a versioned request with a content-length body parses", "[gateway][unit]") {
  Pair p;
  p.Send("POST /v1.41/containers/create?name=web HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
         "Content-Length: 13\r\n\r\n{\"Image\":\"a\"}");
  Request r;
  REQUIRE(p.server->ReadRequest(r));
  CHECK(r.method == "POST");
  CHECK(r.api.api_version == "1.41");
  CHECK(r.api.path == "/containers/create");
  CHECK(r.content_length == 13);
  CHECK_FALSE(r.upgrade);
  std::string body;
  REQUIRE(p.server->ReadWholeBody(body, 1024));
  CHECK(body == "{\"Image\":\"a\"}");
}

TEST_CASE("a chunked body (docker load) is de-chunked", "[gateway][unit]") {
  Pair p;
  p.Send("POST /images/load?quiet=1 HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  Request r;
  REQUIRE(p.server->ReadRequest(r));
  CHECK(r.content_length == -1);
  std::string body;
  REQUIRE(p.server->ReadWholeBody(body, 1024));
  CHECK(body == "hello world");
}

TEST_CASE("attach with Connection: Upgrade is seen as a hijack request", "[gateway][unit]") {
  Pair p;
  p.Send("POST /v1.41/containers/abc/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: d\r\n"
         "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\nEARLY");
  Request r;
  REQUIRE(p.server->ReadRequest(r));
  CHECK(r.upgrade);
  for (const auto& [name, value] : r.headers) CHECK(name != "Upgrade");
  std::string body;
  REQUIRE(p.server->ReadWholeBody(body, 10));
  CHECK(body.empty());
  // Bytes after the head belong to the hijacked stream.
  CHECK(p.server->TakeBuffered() == "EARLY");
}

TEST_CASE("malformed HTTP gets Go's 400 and no request", "[gateway][unit]") {
  Pair p;
  p.Send("THIS IS NOT HTTP\r\n\r\n");
  Request r;
  CHECK_FALSE(p.server->ReadRequest(r));
  std::string answer = p.ReceiveAll();
  CHECK(answer.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
}

TEST_CASE("a client that closes before a request is a clean end", "[gateway][unit]") {
  Pair p;
  p.client.close();
  Request r;
  CHECK_FALSE(p.server->ReadRequest(r));
}

TEST_CASE("responses: whole, chunked and error bodies", "[gateway][unit]") {
  Pair p;
  p.server->WriteWhole(200, {{"Content-Type", "text/plain"}}, "OK");
  p.server->StartChunked(200, {});
  p.server->WriteChunk("abc");
  p.server->WriteChunk("");  // empty data must not end the body early
  p.server->EndChunked();
  std::string got;
  {
    Pair q;
    q.server->WriteError(absl::NotFoundError("No such container: x"));
    got = q.ReceiveAll();
  }
  CHECK(got == "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 35\r\n\r\n"
               "{\"message\":\"No such container: x\"}\n");
  std::string answer = p.ReceiveAll();
  CHECK(answer == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK"
                  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
}

}  // namespace switchyard::gateway

namespace switchyard::gateway {
namespace {

TEST_CASE("a head over 1 MiB gets Go's 431 and no request", "[gateway][unit]") {
  Pair p;
  std::thread sender([&] {
    const std::string big = "GET /_ping HTTP/1.1\r\nHost: docker\r\nX-Big: " + std::string(2 << 20, 'a') + "\r\n\r\n";
    boost::system::error_code ec;  // the server stops reading and closes: the write fails, as it should
    asio::write(p.client, asio::buffer(big), ec);
  });
  Request r;
  CHECK_FALSE(p.server->ReadRequest(r));
  std::string answer = p.ReceiveAll();  // closes the server side, so the sender ends too
  sender.join();
  CHECK(answer.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0) == 0);
}

}  // namespace
}  // namespace switchyard::gateway

namespace switchyard::gateway {

TEST_CASE("the protocol a client upgrades to is kept (h2c for BuildKit)", "[gateway][unit]") {
  Pair p;
  p.Send("POST /v1.41/session HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n"
         "X-Docker-Expose-Session-Uuid: abc\r\n\r\n");
  Request r;
  REQUIRE(p.server->ReadRequest(r));
  CHECK(r.upgrade);
  CHECK(r.upgrade_protocol == "h2c");
}

TEST_CASE("an answer to HEAD has its length and no body, as dockerd's", "[gateway][unit]") {
  Pair p;
  p.Send("HEAD /v1.41/version HTTP/1.1\r\nHost: d\r\n\r\n");
  Request r;
  REQUIRE(p.server->ReadRequest(r));
  p.server->WriteError(absl::NotFoundError("page not found"));
  std::string out = p.ReceiveAll();
  CHECK(out.find("HTTP/1.1 404 Not Found\r\n") == 0);
  CHECK(out.find("Content-Length: 29\r\n") != std::string::npos);
  CHECK(out.substr(out.size() - 4) == "\r\n\r\n");
}

}  // namespace switchyard::gateway
