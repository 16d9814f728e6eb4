#pragma once

#include <cstdint>
#include <string>

namespace switchyard::registry {

// A workload group: one backend decision shared by its members (the
// workloads, networks and volumes that name it).
struct GroupRecord {
  std::string id;       // "compose:shop", "pod:<uid>", "lone:<id>"
  std::string backend;  // "hv" or "vz"
  std::string rule;     // the rule that placed it
  bool pinned = false;  // switchyardctl group pin: kept even when empty
  int64_t created_unix = 0;
};

struct WorkloadRecord {
  std::string container_id;
  std::string name;
  std::string backend;
  std::string group_id;
  std::string platform;  // as requested; empty when none was given
  std::string rule;      // the rule that placed it, for switchyardctl explain
  int64_t created_unix = 0;
};

struct ExecRecord {
  std::string exec_id;
  std::string container_id;
  std::string backend;
};

struct NetworkRecord {
  std::string network_id;
  std::string name;
  std::string backend;
  std::string group_id;  // empty when no group owns it yet
  std::string subnet;    // from the backend's address pool
};

struct VolumeRecord {
  std::string name;
  std::string backend;
  std::string group_id;  // empty when no group owns it yet
};

// An image may be present on both backends: one record per (image_id, backend).
struct ImageRecord {
  std::string image_id;
  std::string reference;
  std::string backend;
  std::string rule;
};

}  // namespace switchyard::registry
