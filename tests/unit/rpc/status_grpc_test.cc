#include "libs/rpc/status_grpc.h"

#include <catch2/catch.hpp>

#include "services/scheduler/backend_client.h"

using switchyard::rpc::IsTransportFailure;

TEST_CASE("gRPC's texts for a peer that is gone are transport failures; a peer's own answer is not",
          "[rpc][unit]") {
  CHECK(IsTransportFailure(grpc::Status(grpc::StatusCode::UNAVAILABLE, "Socket closed")));
  CHECK(IsTransportFailure(grpc::Status(
      grpc::StatusCode::UNAVAILABLE,
      "failed to connect to all addresses; last error: UNKNOWN: unix:/run/switchyard/scheduler.sock: "
      "Connection refused")));
  CHECK_FALSE(IsTransportFailure(grpc::Status(grpc::StatusCode::UNAVAILABLE, "backend vz is not running: VM is BOOTING")));
  CHECK_FALSE(IsTransportFailure(grpc::Status(grpc::StatusCode::NOT_FOUND, "Socket closed")));
}

TEST_CASE("a backend's transport failure is named once", "[rpc][unit]") {
  using switchyard::scheduler::NameBackendFailure;
  CHECK(NameBackendFailure("vz", absl::UnavailableError("Socket closed")).message() ==
        "backend vz is not reachable: Socket closed");
  CHECK(NameBackendFailure("vz", absl::UnavailableError("backend vz is not running: VM is BOOTING")).message() ==
        "backend vz is not running: VM is BOOTING");
  CHECK(NameBackendFailure("vz", absl::NotFoundError("No such container: x")).code() == absl::StatusCode::kNotFound);
}
