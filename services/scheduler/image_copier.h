#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/scheduler/backend_client.h"

namespace switchyard::scheduler {

// Copies an image from one VM to another: `docker save` streamed out of one
// guest into a spool file, then `docker load` into the other. The spool is
// whole before the load starts, so an interrupted save loads nothing; a
// load is the engine's own transaction. One copy at a time per image and
// target: a second caller waits for the first and finds the image there.
class ImageCopier {
 public:
  // Copies `image` (a name or id `from` knows) unless `to` already holds it.
  absl::Status Copy(BackendClient& from, BackendClient& to, const std::string& image);

 private:
  absl::Status Transfer(BackendClient& from, BackendClient& to, const std::string& image);

  absl::Mutex mu_;
  // "<to>|<image>" → the lock its copy holds.
  absl::flat_hash_map<std::string, std::shared_ptr<absl::Mutex>> in_flight_ ABSL_GUARDED_BY(mu_);
};

// Sends `head` with the spool's whole length as its content length, then
// the spool from its start, and half-closes: a body read whole before it
// could be placed (an image archive, a build context, a copy).
void SendSpool(EngineStream& stream, EngineFrame head, std::FILE* spool);

// Whether `backend` holds `image` (GET /images/<image>/json answers 200).
bool Holds(BackendClient& backend, const std::string& image);

}  // namespace switchyard::scheduler
