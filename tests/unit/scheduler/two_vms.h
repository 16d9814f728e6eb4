#pragma once

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "libs/registry/sqlite_store.h"
#include "services/scheduler/scheduler_core.h"
#include "tests/fakes/fake_backend_client.h"

namespace switchyard::scheduler {

// A scheduler core over two fake VMs on an amd64 host (hv native, vz
// translating arm64) and an in-memory registry.
inline constexpr char kWebId[] = "aaaa000000000000000000000000000000000000000000000000000000000001";

struct TwoVms {
  FakeBackendClient* hv;
  FakeBackendClient* vz;
  std::unique_ptr<registry::Store> store;
  std::unique_ptr<SchedulerCore> core;

  TwoVms() {
    auto hv_owned = std::make_unique<FakeBackendClient>("hv", "x86_64");
    auto vz_owned = std::make_unique<FakeBackendClient>("vz", "x86_64", std::vector<std::string>{"qemu-aarch64"});
    hv = hv_owned.get();
    vz = vz_owned.get();
    std::vector<std::unique_ptr<BackendClient>> backends;
    backends.push_back(std::move(hv_owned));
    backends.push_back(std::move(vz_owned));
    auto opened = registry::SqliteStore::Open(":memory:");
    REQUIRE(opened.ok());
    store = std::move(*opened);
    PlacerSettings settings;
    settings.routing.native_arch = "amd64";
    core = std::make_unique<SchedulerCore>(
        std::move(backends), settings, [](const std::string&) { return std::vector<std::string>{}; }, store.get());
  }

  // Container "web" lives in vz.
  void WebInVz() {
    vz->Answer("GET /containers/web/json", 200, nlohmann::json{{"Id", kWebId}, {"Name", "/web"}}.dump());
  }
};

}  // namespace switchyard::scheduler
