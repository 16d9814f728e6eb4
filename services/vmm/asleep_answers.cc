#include "services/vmm/asleep_answers.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/docker_text/container_status.h"
#include "libs/http/api_target.h"

namespace switchyard::vmm {
namespace {

using json = nlohmann::json;
using types::v1::DockerReply;

DockerReply Reply(int status, const json& body) {
  DockerReply reply;
  reply.set_status(status);
  auto* h = reply.add_headers();
  h->set_name("Content-Type");
  h->set_value("application/json");
  reply.set_body(body.dump() + "\n");
  return reply;
}

// The filters of a list query as {key: [values]}; nullopt if unreadable.
std::optional<std::map<std::string, std::vector<std::string>>> Filters(const std::string& query) {
  std::map<std::string, std::vector<std::string>> out;
  std::optional<std::string> text = http::QueryValue(query, "filters");
  if (!text || text->empty()) return out;
  json given = json::parse(*text, nullptr, false);
  if (!given.is_object()) return std::nullopt;
  for (const auto& [key, values] : given.items()) {
    if (values.is_object()) {
      for (const auto& [value, on] : values.items()) {
        if (on == true) out[key].push_back(value);
      }
    } else if (values.is_array()) {
      for (const auto& value : values) {
        if (value.is_string()) out[key].push_back(value.get<std::string>());
      }
    }
  }
  return out;
}

bool HasLabel(const json& labels, const std::string& wanted) {
  if (!labels.is_object()) return false;
  const size_t eq = wanted.find('=');
  const std::string key = wanted.substr(0, eq);
  if (!labels.contains(key)) return false;
  return eq == std::string::npos || labels[key] == wanted.substr(eq + 1);
}

// The container filters answered here; any other makes the VM wake.
bool ContainerMatches(const json& row, const json& inspect,
                      const std::map<std::string, std::vector<std::string>>& filters, bool* answerable) {
  for (const auto& [key, values] : filters) {
    bool any = false;
    for (const std::string& v : values) {
      if (key == "label") {
        any = any || HasLabel(row.value("Labels", json::object()), v);
      } else if (key == "id") {
        any = any || absl::StartsWith(row.value("Id", ""), v);
      } else if (key == "name") {
        for (const auto& name : row.value("Names", json::array())) {
          any = any || absl::StrContains(name.get<std::string>(), v);
        }
      } else if (key == "status") {
        any = any || inspect["State"].value("Status", "") == v;
      } else {
        *answerable = false;
        return false;
      }
    }
    if (!any) return false;
  }
  return true;
}

bool NoFilters(const std::string& query) {
  auto filters = Filters(query);
  return filters && filters->empty();
}

}  // namespace

absl::StatusOr<AsleepSnapshot> AsleepSnapshot::Take(const EngineGet& get) {
  AsleepSnapshot snapshot;
  auto read = [&](const std::string& key, const std::string& target) -> absl::Status {
    absl::StatusOr<std::pair<int, std::string>> answer = get(target);
    if (!answer.ok()) return answer.status();
    if (answer->first != 200) return absl::UnavailableError(absl::StrCat(target, " answered ", answer->first));
    json body = json::parse(answer->second, nullptr, false);
    if (body.is_discarded()) return absl::DataLossError(absl::StrCat(target, " answered no JSON"));
    snapshot.data_[key] = std::move(body);
    return absl::OkStatus();
  };
  for (const auto& [key, target] : std::vector<std::pair<std::string, std::string>>{
           {"containers", "/containers/json?all=1"},
           {"images", "/images/json"},
           {"images_all", "/images/json?all=1"},
           {"volumes", "/volumes"},
           {"networks", "/networks"},
           {"info", "/info"},
           {"version", "/version"}}) {
    if (absl::Status s = read(key, target); !s.ok()) return s;
  }
  // The inspect of each row of a list, by id ("containers" → "/containers/ID/json").
  auto inspect_each = [&](const std::string& list, const std::string& kind, const std::string& key) -> absl::Status {
    json inspects = json::object();
    for (const auto& row : snapshot.data_[list]) {
      const std::string id = row.value("Id", "");
      absl::StatusOr<std::pair<int, std::string>> answer = get(absl::StrCat("/", kind, "/", id, "/json"));
      if (!answer.ok()) return answer.status();
      if (answer->first == 200) inspects[id] = json::parse(answer->second, nullptr, false);
    }
    snapshot.data_[key] = std::move(inspects);
    return absl::OkStatus();
  };
  if (absl::Status s = inspect_each("containers", "containers", "inspects"); !s.ok()) return s;
  if (absl::Status s = inspect_each("images_all", "images", "image_inspects"); !s.ok()) return s;
  return snapshot;
}

AsleepSnapshot AsleepSnapshot::Empty() {
  AsleepSnapshot snapshot;
  snapshot.data_ = {{"containers", json::array()}, {"images", json::array()}, {"images_all", json::array()},
                    {"volumes", {{"Volumes", json::array()}, {"Warnings", nullptr}}},
                    {"networks", json::array()}, {"inspects", json::object()}, {"image_inspects", json::object()}};
  return snapshot;
}

std::optional<AsleepSnapshot> AsleepSnapshot::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  json data = json::parse(text.str(), nullptr, false);
  if (!data.is_object()) return std::nullopt;
  AsleepSnapshot snapshot;
  snapshot.data_ = std::move(data);
  return snapshot;
}

absl::Status AsleepSnapshot::Save(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << data_.dump();
    if (!out.good()) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return absl::InternalError(absl::StrCat("cannot rename ", tmp));
  return absl::OkStatus();
}

std::optional<DockerReply> AsleepSnapshot::Answer(const std::string& method, const std::string& target,
                                                  absl::Time now) const {
  if (method != "GET") return std::nullopt;
  const http::ApiTarget t = http::ParseTarget(target);
  const std::vector<std::string>& s = t.segments;
  if (s.size() == 2 && s[0] == "containers" && s[1] == "json") {
    auto filters = Filters(t.query);
    if (!filters || http::QueryValue(t.query, "size").value_or("") == "1" ||
        http::QueryValue(t.query, "size").value_or("") == "true") {
      return std::nullopt;
    }
    const std::string all = http::QueryValue(t.query, "all").value_or("");
    const bool every = all == "1" || all == "true";
    const int limit = std::atoi(http::QueryValue(t.query, "limit").value_or("0").c_str());
    json rows = json::array();
    const json& inspects = data_.value("inspects", json::object());
    const json containers = data_.value("containers", json::array());
    for (json row : containers) {
      const json inspect = inspects.value(row.value("Id", ""), json::object());
      const json state = inspect.value("State", json::object());
      if (!every && !state.value("Running", false)) continue;
      bool answerable = true;
      if (!ContainerMatches(row, inspect, *filters, &answerable)) {
        if (!answerable) return std::nullopt;
        continue;
      }
      if (!state.empty()) {
        row["State"] = state.value("Status", row.value("State", ""));
        row["Status"] = docker_text::StatusText(state, now);
      }
      rows.push_back(std::move(row));
      if (limit > 0 && static_cast<int>(rows.size()) >= limit) break;
    }
    return Reply(200, rows);
  }
  if (s.size() == 3 && s[0] == "containers" && s[2] == "json") {
    const std::string& ref = s[1];
    const json& inspects = data_.value("inspects", json::object());
    const json* found = nullptr;
    int prefix_matches = 0;
    for (const auto& [id, inspect] : inspects.items()) {
      if (id == ref || inspect.value("Name", "") == "/" + ref || inspect.value("Name", "") == ref) {
        found = &inspect;
        prefix_matches = 1;
        break;
      }
      if (absl::StartsWith(id, ref)) {
        found = &inspect;
        ++prefix_matches;
      }
    }
    if (found == nullptr || prefix_matches != 1) {
      // Not ours (the other VM's, or none): this VM's dockerd would say so.
      return Reply(404, {{"message", absl::StrCat("No such container: ", ref)}});
    }
    return Reply(200, *found);
  }
  if (s.size() >= 3 && s[0] == "images" && s.back() == "json") {
    // The name may hold slashes (a registry path): segments 1..n-2.
    std::string ref = s[1];
    for (size_t i = 2; i + 1 < s.size(); ++i) absl::StrAppend(&ref, "/", s[i]);
    const std::string tagged = ref.find(':') == std::string::npos || ref.rfind('/') > ref.rfind(':')
                                   ? absl::StrCat(ref, ":latest")
                                   : ref;
    const json image_inspects = data_.value("image_inspects", json::object());
    for (const auto& [id, inspect] : image_inspects.items()) {
      bool match = id == ref || id == "sha256:" + ref || (ref.size() >= 12 && absl::StartsWith(id, "sha256:" + ref));
      for (const auto& tag : inspect.value("RepoTags", json::array())) {
        match = match || tag == ref || tag == tagged || tag == "docker.io/library/" + tagged;
      }
      if (match) return Reply(200, inspect);
    }
    return Reply(404, {{"message", absl::StrCat("No such image: ", ref)}});
  }
  if (s.size() == 2 && s[0] == "images" && s[1] == "json" && NoFilters(t.query)) {
    const std::string all = http::QueryValue(t.query, "all").value_or("");
    return Reply(200, data_.value(all == "1" || all == "true" ? "images_all" : "images", json::array()));
  }
  if (s.size() == 1 && s[0] == "volumes" && NoFilters(t.query)) return Reply(200, data_.value("volumes", json::object()));
  if (s.size() == 1 && s[0] == "networks" && NoFilters(t.query)) return Reply(200, data_.value("networks", json::array()));
  if (s.size() == 1 && (s[0] == "info" || s[0] == "version") && data_.contains(s[0])) {
    json body = data_[s[0]];
    if (s[0] == "info") {
      // Nothing runs in a sleeping VM.
      body["ContainersStopped"] = body.value("Containers", 0);
      body["ContainersRunning"] = 0;
      body["ContainersPaused"] = 0;
    }
    return Reply(200, body);
  }
  return std::nullopt;
}

}  // namespace switchyard::vmm
