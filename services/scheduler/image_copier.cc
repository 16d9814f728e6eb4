#include "services/scheduler/image_copier.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "libs/http/api_target.h"
#include "libs/http/docker_error.h"

namespace switchyard::scheduler {
namespace {

using Spool = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

absl::Status Interrupted(const std::string& image, BackendClient& from, BackendClient& to, absl::string_view why) {
  return absl::UnavailableError(absl::StrCat("copying image ", image, " from backend ", from.name(), " to backend ",
                                             to.name(), " failed: ", why));
}

EngineFrame RequestHead(const std::string& method, const std::string& target) {
  EngineFrame frame;
  frame.mutable_request()->set_method(method);
  frame.mutable_request()->set_target(target);
  return frame;
}

// The message of a failed docker load: its JSON lines carry "error".
std::string LoadError(const std::string& body) {
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find('\n', start);
    if (end == std::string::npos) end = body.size();
    nlohmann::json line = nlohmann::json::parse(body.substr(start, end - start), nullptr, false);
    if (line.is_object() && line.contains("error") && line["error"].is_string()) return line["error"];
    start = end + 1;
  }
  return "";
}

}  // namespace

void SendSpool(EngineStream& stream, EngineFrame head, std::FILE* spool) {
  std::fflush(spool);
  std::fseek(spool, 0, SEEK_END);
  head.mutable_request()->set_content_length(std::ftell(spool));
  stream.Write(head);
  std::rewind(spool);
  std::string chunk(256 * 1024, '\0');
  size_t n;
  while ((n = std::fread(chunk.data(), 1, chunk.size(), spool)) > 0) {
    EngineFrame data;
    data.set_data(chunk.data(), n);
    if (!stream.Write(data)) break;
  }
  stream.WritesDone();
}

bool Holds(BackendClient& backend, const std::string& image) {
  absl::StatusOr<EngineReply> reply = backend.Call("GET", absl::StrCat("/images/", http::UrlEncode(image), "/json"));
  return reply.ok() && reply->status == 200;
}

absl::Status ImageCopier::Copy(BackendClient& from, BackendClient& to, const std::string& image) {
  std::shared_ptr<absl::Mutex> lock;
  {
    absl::MutexLock guard(&mu_);
    std::shared_ptr<absl::Mutex>& slot = in_flight_[absl::StrCat(to.name(), "|", image)];
    if (slot == nullptr) slot = std::make_shared<absl::Mutex>();
    lock = slot;
  }
  absl::Status copied;
  {
    absl::MutexLock one_copy(lock.get());
    if (!Holds(to, image)) copied = Transfer(from, to, image);
  }
  absl::MutexLock guard(&mu_);
  auto it = in_flight_.find(absl::StrCat(to.name(), "|", image));
  if (it != in_flight_.end() && it->second.use_count() == 2) in_flight_.erase(it);  // ours and the map's
  return copied;
}

absl::Status ImageCopier::Transfer(BackendClient& from, BackendClient& to, const std::string& image) {
  const absl::Time started = absl::Now();
  Spool spool(std::tmpfile(), &std::fclose);
  if (!spool) return Interrupted(image, from, to, "cannot make a spool file");

  {
    grpc::ClientContext context;
    std::unique_ptr<EngineStream> save = from.OpenStream(context);
    save->Write(RequestHead("GET", absl::StrCat("/images/", http::UrlEncode(image), "/get")));
    save->WritesDone();
    EngineFrame frame;
    if (!save->Read(&frame) || !frame.has_response()) {
      return Interrupted(image, from, to, save->Finish().error_message());
    }
    const int status = frame.response().status();
    std::string error_body;
    while (save->Read(&frame)) {
      if (!frame.has_data()) continue;
      if (status != 200) {
        error_body += frame.data();
      } else if (std::fwrite(frame.data().data(), 1, frame.data().size(), spool.get()) != frame.data().size()) {
        context.TryCancel();
        save->Finish();
        return Interrupted(image, from, to, "the spool file is full");
      }
    }
    grpc::Status finished = save->Finish();
    if (status != 200) {
      return Interrupted(image, from, to, http::StatusFromDockerError(status, error_body).message());
    }
    if (!finished.ok()) return Interrupted(image, from, to, absl::StrCat("save ended early: ", finished.error_message()));
  }
  grpc::ClientContext context;
  std::unique_ptr<EngineStream> load = to.OpenStream(context);
  SendSpool(*load, RequestHead("POST", "/images/load?quiet=1"), spool.get());
  EngineFrame frame;
  int status = 0;
  std::string body;
  while (load->Read(&frame)) {
    if (frame.has_response()) status = frame.response().status();
    if (frame.has_data()) body += frame.data();
  }
  grpc::Status finished = load->Finish();
  if (!finished.ok()) return Interrupted(image, from, to, absl::StrCat("load ended early: ", finished.error_message()));
  if (status != 200) return Interrupted(image, from, to, http::StatusFromDockerError(status, body).message());
  if (std::string error = LoadError(body); !error.empty()) return Interrupted(image, from, to, error);
  spdlog::info("image={} copied from backend={} to backend={} ({} bytes, {} ms)", image, from.name(), to.name(),
               std::ftell(spool.get()),
               absl::ToInt64Milliseconds(absl::Now() - started));
  return absl::OkStatus();
}

}  // namespace switchyard::scheduler
