#include "services/scheduler/merged_answers.h"

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "services/scheduler/fan_out.h"

namespace switchyard::scheduler {
namespace {

using nlohmann::json;

// The parsed bodies of the answers, or the first failure or refusal.
absl::StatusOr<std::vector<json>> Bodies(const BackendReplies& replies, std::optional<EngineReply>& refused) {
  std::vector<json> bodies;
  for (const auto& reply : replies) {
    if (!reply.ok()) return reply.status();
    if (reply->status < 200 || reply->status >= 300) {
      refused = *reply;
      return bodies;
    }
    json body = json::parse(reply->body, nullptr, false);
    bodies.push_back(body.is_object() ? std::move(body) : json::object());
  }
  return bodies;
}

// Appends `from[key]`'s rows to `into[key]`, each once: by `id_key` (the
// same image in both VMs is one row) or, without one, by the whole row (a
// prune's {"Deleted": …}). A key every answer left null stays null.
void JoinRows(json& into, const json& from, const std::string& key, const char* id_key, std::set<std::string>& seen) {
  auto it = from.find(key);
  if (it == from.end() || !it->is_array()) return;
  if (!into[key].is_array()) into[key] = json::array();
  for (const json& row : *it) {
    const bool by_id = id_key != nullptr && row.is_object() && row.contains(id_key) && row[id_key].is_string();
    if (!seen.insert(by_id ? row[id_key].get<std::string>() : row.dump()).second) continue;
    into[key].push_back(row);
  }
}

void Sum(json& into, const json& from, const char* key) {
  auto it = from.find(key);
  if (it == from.end() || !it->is_number_integer()) return;
  into[key] = into.value(key, int64_t{0}) + it->get<int64_t>();
}

}  // namespace

absl::StatusOr<EngineReply> MergePrune(const BackendReplies& replies, absl::string_view deleted_key) {
  std::optional<EngineReply> refused;
  absl::StatusOr<std::vector<json>> bodies = Bodies(replies, refused);
  if (!bodies.ok()) return bodies.status();
  if (refused.has_value()) return *refused;
  const std::string key(deleted_key);
  json merged = {{key, nullptr}};
  std::set<std::string> seen;
  for (const json& body : *bodies) {
    JoinRows(merged, body, key, nullptr, seen);
    Sum(merged, body, "SpaceReclaimed");
  }
  return JsonReply(200, merged);
}

absl::StatusOr<EngineReply> MergeDiskUsage(const BackendReplies& replies) {
  std::optional<EngineReply> refused;
  absl::StatusOr<std::vector<json>> bodies = Bodies(replies, refused);
  if (!bodies.ok()) return bodies.status();
  if (refused.has_value()) return *refused;
  json merged = {{"LayersSize", 0}, {"Images", json::array()}, {"Containers", json::array()},
                 {"Volumes", json::array()}, {"BuildCache", nullptr}, {"BuilderSize", 0}};
  std::set<std::string> images, containers, volumes, caches;
  for (const json& body : *bodies) {
    Sum(merged, body, "LayersSize");
    Sum(merged, body, "BuilderSize");
    JoinRows(merged, body, "Images", "Id", images);
    JoinRows(merged, body, "Containers", "Id", containers);
    JoinRows(merged, body, "Volumes", "Name", volumes);
    JoinRows(merged, body, "BuildCache", nullptr, caches);
  }
  return JsonReply(200, merged);
}

absl::StatusOr<EngineReply> FirstSuccess(const BackendReplies& replies) {
  for (const auto& reply : replies) {
    if (reply.ok() && reply->status >= 200 && reply->status < 300) return reply;
  }
  return replies.empty() ? absl::UnavailableError("no backend configured") : replies.front();
}

}  // namespace switchyard::scheduler
