#pragma once

#include <cstdint>
#include <string>

namespace switchyard::registry {

// A workload group: one backend decision shared by its members.
struct GroupRecord {
  std::string id;       // "compose:shop", "pod:<uid>", "lone:<hex>"
  std::string backend;  // "hv" or "vz"
  std::string rule;     // the rule that placed it
  bool pinned = false;  // switchyardctl group pin
  int64_t created_unix = 0;
};

struct WorkloadRecord {
  std::string container_id;
  std::string name;
  std::string backend;
  std::string group_id;
  std::string platform;  // as requested; empty when none was given
  std::string rule;
  int64_t created_unix = 0;
};

struct ExecRecord {
  std::string exec_id;
  std::string container_id;
  std::string backend;
};

}  // namespace switchyard::registry
