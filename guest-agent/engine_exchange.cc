#include "guest-agent/engine_exchange.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "guest-agent/cancel_watcher.h"
#include "guest-agent/engine_proxy.h"
#include "libs/http/http_codec.h"
#include "libs/rpc/status_grpc.h"

namespace switchyard::agent {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using switchyard::types::v1::DockerReply;
using switchyard::types::v1::DockerRequest;

enum class Outcome { kAnswered, kNothingSent, kFailed };

// One request/response on `socket`. kNothingSent means dockerd closed the
// connection before answering a byte: safe to retry a reused connection.
Outcome Exchange(DockerdPool::Socket& socket, const std::string& wire, const DockerRequest& request,
                 DockerReply& reply, bool& keep_alive, grpc::Status& error) {
  boost::system::error_code ec;
  asio::write(socket, asio::buffer(wire), ec);
  if (ec) {
    error = grpc::Status(grpc::StatusCode::UNAVAILABLE, "guest dockerd closed the connection");
    return Outcome::kNothingSent;
  }
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(kMaxExchangeBody);
  if (request.method() == "HEAD") parser.skip(true);
  bhttp::read(socket, buffer, parser, ec);
  if (ec) {
    if (ec == bhttp::error::body_limit) {
      error = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "guest dockerd answer too large for an exchange");
      return Outcome::kFailed;
    }
    error = grpc::Status(grpc::StatusCode::UNAVAILABLE, absl::StrCat("guest dockerd sent no answer: ", ec.message()));
    return parser.got_some() ? Outcome::kFailed : Outcome::kNothingSent;
  }
  auto& response = parser.get();
  keep_alive = response.keep_alive();
  reply.set_status(static_cast<int>(response.result_int()));
  for (const auto& field : response) {
    if (http::IsHopByHop(std::string(field.name_string()))) continue;
    auto* h = reply.add_headers();
    h->set_name(std::string(field.name_string()));
    h->set_value(std::string(field.value()));
  }
  reply.set_body(std::move(response.body()));
  return Outcome::kAnswered;
}

}  // namespace

grpc::Status ServeEngineExchange(grpc::ServerContext& context, const DockerRequest& request, DockerReply& reply,
                                 DockerdPool& pool) {
  switchyard::types::v1::EngineRequestHead head;
  head.set_method(request.method());
  head.set_target(request.target());
  *head.mutable_headers() = request.headers();
  head.set_content_length(static_cast<int64_t>(request.body().size()));
  std::string wire = EncodeDockerdRequestHead(head);
  wire.append(request.body());

  bool reused = false;
  auto socket = pool.Acquire(reused);
  for (;;) {
    if (!socket.ok()) return rpc::ToGrpc(socket.status());
    grpc::Status error;
    bool keep_alive = false;
    Outcome outcome;
    {
      auto watch = CancelWatcher::Instance().Watch(context, socket->native_handle());
      outcome = Exchange(*socket, wire, request, reply, keep_alive, error);
    }
    if (outcome == Outcome::kAnswered) {
      if (keep_alive) pool.Release(*std::move(socket));
      return grpc::Status::OK;
    }
    if (context.IsCancelled()) return grpc::Status::CANCELLED;
    // A pooled connection dockerd closed while idle: one fresh try.
    if (outcome == Outcome::kNothingSent && reused) {
      reused = false;
      reply.Clear();
      socket = pool.Connect();
      continue;
    }
    return error;
  }
}

}  // namespace switchyard::agent
