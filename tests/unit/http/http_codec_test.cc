#include "libs/http/http_codec.h"

#include <catch2/catch.hpp>

#include "libs/http/docker_error.h"

namespace switchyard::http {

TEST_CASE("response heads carry exactly one framing", "[http][unit]") {
  HeaderList headers = {{"Content-Type", "application/json"}, {"Transfer-Encoding", "chunked"},
                        {"Content-Length", "99"}, {"Api-Version", "1.41"}};
  CHECK(EncodeResponseHead(200, headers, BodyFraming::kContentLength, 2) ==
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\n");
  CHECK(EncodeResponseHead(200, {}, BodyFraming::kChunked) ==
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
}

TEST_CASE("an upgraded attach answers 101 UPGRADED like dockerd", "[http][unit]") {
  CHECK(EncodeResponseHead(101, {{"Content-Type", "application/vnd.docker.raw-stream"}}, BodyFraming::kRaw) ==
        "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
        "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
}

TEST_CASE("a BuildKit session's upgrade names h2c back", "[http][unit]") {
  CHECK(EncodeResponseHead(101, {}, BodyFraming::kRaw, 0, "h2c") ==
        "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n");
}

TEST_CASE("chunks are hex-length framed", "[http][unit]") {
  CHECK(EncodeChunk("hello") == "5\r\nhello\r\n");
  CHECK(EncodeChunk(std::string(26, 'x')) == "1a\r\n" + std::string(26, 'x') + "\r\n");
  CHECK(kLastChunk == "0\r\n\r\n");
}

TEST_CASE("errors map to moby's status codes and body", "[http][unit]") {
  CHECK(HttpStatusFor(absl::StatusCode::kNotFound) == 404);
  CHECK(HttpStatusFor(absl::StatusCode::kInvalidArgument) == 400);
  CHECK(HttpStatusFor(absl::StatusCode::kAlreadyExists) == 409);
  CHECK(HttpStatusFor(absl::StatusCode::kUnavailable) == 503);
  CHECK(HttpStatusFor(absl::StatusCode::kUnimplemented) == 501);
  CHECK(HttpStatusFor(absl::StatusCode::kInternal) == 500);
  CHECK(ErrorBody("No such container: x") == "{\"message\":\"No such container: x\"}\n");
  absl::Status back = StatusFromDockerError(409, "{\"message\":\"Conflict.\"}\n");
  CHECK(back.code() == absl::StatusCode::kAlreadyExists);
  CHECK(back.message() == "Conflict.");
  CHECK(StatusFromDockerError(500, "not json").message() == "not json");
}

}  // namespace switchyard::http
