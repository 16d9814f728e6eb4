#pragma once

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace switchyard::scheduler::buildkit {

// Where each BuildKit build runs, by the ref its client gave it in its
// Control/Solve. The client opens that build's Status stream concurrently,
// so a Status may arrive first and wait here for its Solve.
class BuildRefs {
 public:
  struct Binding {
    std::string backend;
    std::string note;  // the progress line that says where the build runs and why
  };
  void Begin(const std::string& ref, Binding binding, absl::Time now = absl::Now());
  std::optional<Binding> Find(const std::string& ref) const;
  // Where `ref` runs, waiting up to `wait` for its Solve to arrive.
  std::optional<Binding> Await(const std::string& ref, absl::Duration wait);

 private:
  struct Record {
    Binding binding;
    absl::Time at;
  };
  void Forget(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Record> refs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchyard::scheduler::buildkit
