#include "services/vmm/vm_manager_service.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <atomic>
#include <map>
#include <filesystem>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "libs/rpc/unix_server.h"
#include "tests/fakes/fake_vm_driver.h"

namespace fs = std::filesystem;
namespace pb = switchyard::vmm::v1;
namespace agentpb = switchyard::agent::v1;
using switchyard::vmm::FakeVmDriver;
using switchyard::vmm::VmManagerService;

namespace {

// A guest agent answering GetInfo with a scripted engine state.
class FakeAgent final : public agentpb::GuestAgent::Service {
 public:
  grpc::Status GetInfo(grpc::ServerContext*, const agentpb::GetInfoRequest*,
                       agentpb::GetInfoResponse* response) override {
    absl::MutexLock lock(&mu);
    *response = info;
    return grpc::Status::OK;
  }
  // The reads a VM manager makes itself (idle check, the asleep snapshot):
  // an engine with nothing in it. Anything else is not served.
  grpc::Status EngineExchange(grpc::ServerContext*, const switchyard::types::v1::DockerRequest* request,
                              switchyard::types::v1::DockerReply* reply) override {
    static const std::map<std::string, std::string> answers = {
        {"/info", R"({"ContainersRunning":0,"ContainersPaused":0,"Containers":0})"},
        {"/version", R"({"Version":"20.10.24"})"},
        {"/containers/json?all=1", "[]"},
        {"/images/json", "[]"},
        {"/images/json?all=1", "[]"},
        {"/volumes", R"({"Volumes":[]})"},
        {"/networks", "[]"}};
    auto it = answers.find(request->target());
    if (request->method() != "GET" || it == answers.end()) return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "");
    absl::Duration delay;
    {
      absl::MutexLock lock(&mu);
      delay = request->target() == "/info" ? absl::ZeroDuration() : snapshot_read_delay;
    }
    absl::SleepFor(delay);
    absl::MutexLock lock(&mu);
    ++engine_reads;
    reply->set_status(200);
    reply->set_body(it->second);
    return grpc::Status::OK;
  }
  absl::Mutex mu;
  agentpb::GetInfoResponse info;
  int engine_reads = 0;
  // Slows the reads a VM going to sleep records, holding it in STOPPING.
  absl::Duration snapshot_read_delay;
};

pb::GetVmStatusResponse WaitForState(VmManagerService& service, pb::VmState want) {
  pb::GetVmStatusResponse status;
  for (int i = 0; i < 100; ++i) {
    status.Clear();
    service.GetVmStatus(nullptr, nullptr, &status);
    if (status.state() == want) break;
    ::usleep(50 * 1000);
  }
  return status;
}

switchyard::vmm::VmManagerOptions FastOptions() {
  switchyard::vmm::VmManagerOptions options;
  options.agent_boot_timeout = absl::Seconds(3);
  options.poll_interval = absl::Milliseconds(50);
  options.max_reboot_backoff = absl::Milliseconds(100);
  return options;
}

// A fake guest agent serving on a socket in a temp dir of its own, gone
// (server shut down, dir removed) when the test ends, even on a failure.
struct AgentOnSocket {
  explicit AgentOnSocket(const std::string& name, agentpb::EngineState engine) {
    dir = fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    socket = (dir / "agent.sock").string();
    agent.info.set_engine_state(engine);
    auto started = switchyard::rpc::StartUnixServer(socket, {&agent});
    REQUIRE(started.ok());
    server = *std::move(started);
  }
  ~AgentOnSocket() {
    if (server != nullptr) server->Shutdown();
    fs::remove_all(dir);
  }
  fs::path dir;
  std::string socket;
  FakeAgent agent;
  std::unique_ptr<grpc::Server> server;
};

}  // namespace

TEST_CASE("a VM that cannot boot is FAILED with the driver's reason", "[vmm][unit]") {
  auto driver = std::make_unique<FakeVmDriver>();
  driver->set_boot_status(absl::UnavailableError("no hypervisor"));
  switchyard::vmm::VmSpec spec;
  spec.backend = "hv";
  VmManagerService service(std::move(driver), spec, switchyard::vmm::UnixAgentConnector(), FastOptions());
  service.Start();
  auto status = WaitForState(service, pb::VM_STATE_FAILED);
  REQUIRE(status.state() == pb::VM_STATE_FAILED);
  REQUIRE(status.error() == "VM hv failed to boot: no hypervisor");
  service.Shutdown();
  status.Clear();
  service.GetVmStatus(nullptr, nullptr, &status);
  REQUIRE(status.state() == pb::VM_STATE_STOPPED);
}

TEST_CASE("VM state follows the agent's engine and the VM's life", "[vmm][unit]") {
  AgentOnSocket fake("sy-vmm-test", agentpb::ENGINE_STATE_STARTING);
  FakeAgent& agent = fake.agent;
  {
    absl::MutexLock lock(&agent.mu);
    agent.info.set_kernel_arch("x86_64");
  }

  auto owned = std::make_unique<FakeVmDriver>();
  FakeVmDriver* driver = owned.get();
  driver->set_agent_endpoint(fake.socket);
  switchyard::vmm::VmSpec spec;
  spec.backend = "vz";
  VmManagerService service(std::move(owned), spec, switchyard::vmm::UnixAgentConnector(), FastOptions());
  service.Start();

  // The engine's first start is still the boot.
  auto status = WaitForState(service, pb::VM_STATE_BOOTING);
  for (int i = 0; i < 100 && status.error().empty(); ++i) {
    ::usleep(20 * 1000);
    status.Clear();
    service.GetVmStatus(nullptr, nullptr, &status);
  }
  REQUIRE(status.state() == pb::VM_STATE_BOOTING);
  REQUIRE(status.error() == "guest engine is ENGINE_STATE_STARTING");

  // An engine call meanwhile waits for the boot instead of failing.
  std::atomic<bool> answered{false};
  grpc::Status call_status;
  std::thread caller([&] {
    grpc::ServerContext context;
    switchyard::types::v1::DockerRequest request;
    switchyard::types::v1::DockerReply reply;
    call_status = service.EngineExchange(&context, &request, &reply);
    answered = true;
  });
  ::usleep(300 * 1000);
  CHECK_FALSE(answered.load());

  {
    absl::MutexLock lock(&agent.mu);
    agent.info.set_engine_state(agentpb::ENGINE_STATE_RUNNING);
    agent.info.set_engine_version("20.10.24");
  }
  status = WaitForState(service, pb::VM_STATE_RUNNING);
  REQUIRE(status.state() == pb::VM_STATE_RUNNING);
  REQUIRE(status.kernel_arch() == "x86_64");
  REQUIRE(status.engine_version() == "20.10.24");
  REQUIRE(status.vm_pid() == 4242);
  caller.join();
  // Past the VM manager: the fake agent has no engine to answer with.
  CHECK(call_status.error_code() == grpc::StatusCode::UNIMPLEMENTED);

  // A later restart of the engine is a degraded VM, not a boot.
  {
    absl::MutexLock lock(&agent.mu);
    agent.info.set_engine_state(agentpb::ENGINE_STATE_STARTING);
  }
  status = WaitForState(service, pb::VM_STATE_DEGRADED);
  REQUIRE(status.state() == pb::VM_STATE_DEGRADED);
  {
    absl::MutexLock lock(&agent.mu);
    agent.info.set_engine_state(agentpb::ENGINE_STATE_RUNNING);
  }
  REQUIRE(WaitForState(service, pb::VM_STATE_RUNNING).state() == pb::VM_STATE_RUNNING);

  // A crash is noticed, the VM cleaned up and booted again.
  driver->Crash("agent (guest PID 1) killed by signal 9");
  for (int i = 0; i < 100 && driver->boots().size() < 2; ++i) ::usleep(50 * 1000);
  REQUIRE(driver->boots().size() >= 2);
  REQUIRE(driver->stops() >= 1);
  status = WaitForState(service, pb::VM_STATE_RUNNING);
  REQUIRE(status.state() == pb::VM_STATE_RUNNING);

  service.Shutdown();
}

TEST_CASE("a manager takes over the VM its predecessor left running, and boots only after a crash",
          "[vmm][unit]") {
  AgentOnSocket fake("sy-vmm-adopt-test", agentpb::ENGINE_STATE_RUNNING);
  auto owned = std::make_unique<FakeVmDriver>();
  FakeVmDriver* driver = owned.get();
  driver->set_agent_endpoint(fake.socket);
  driver->set_adoptable(true);
  switchyard::vmm::VmSpec spec;
  spec.backend = "hv";
  VmManagerService service(std::move(owned), spec, switchyard::vmm::UnixAgentConnector(), FastOptions());
  service.Start();
  REQUIRE(WaitForState(service, pb::VM_STATE_RUNNING).state() == pb::VM_STATE_RUNNING);
  CHECK(driver->adopt_attempts() == 1);
  CHECK(driver->boots().empty());
  CHECK(driver->stops() == 0);

  // After a crash the VM is booted afresh: nothing is left to take over.
  driver->Crash("agent (guest PID 1) ended");
  for (int i = 0; i < 100 && driver->boots().empty(); ++i) ::usleep(50 * 1000);
  CHECK(driver->boots().size() == 1);
  CHECK(driver->adopt_attempts() == 1);
  REQUIRE(WaitForState(service, pb::VM_STATE_RUNNING).state() == pb::VM_STATE_RUNNING);
  service.Shutdown();
}

TEST_CASE("an engine call during the reboot that follows a crash waits for the VM", "[vmm][unit]") {
  AgentOnSocket fake("sy-vmm-reboot-test", agentpb::ENGINE_STATE_RUNNING);
  auto owned = std::make_unique<FakeVmDriver>();
  FakeVmDriver* driver = owned.get();
  driver->set_agent_endpoint(fake.socket);
  switchyard::vmm::VmSpec spec;
  spec.backend = "hv";
  auto options = FastOptions();
  options.max_reboot_backoff = absl::Milliseconds(700);  // a reboot wide enough to call into
  VmManagerService service(std::move(owned), spec, switchyard::vmm::UnixAgentConnector(), options);
  service.Start();
  REQUIRE(WaitForState(service, pb::VM_STATE_RUNNING).state() == pb::VM_STATE_RUNNING);

  driver->Crash("agent (guest PID 1) killed by signal 9");
  // The first state after RUNNING, seen at once: the VM is in its backoff
  // before the second boot, and already counts as booting.
  pb::GetVmStatusResponse status;
  for (int i = 0; i < 2000; ++i) {
    status.Clear();
    service.GetVmStatus(nullptr, nullptr, &status);
    if (status.state() != pb::VM_STATE_RUNNING) break;
    ::usleep(1000);
  }
  REQUIRE(status.state() == pb::VM_STATE_BOOTING);
  CHECK(status.error() == "VM hv is rebooting after: VM hv stopped unexpectedly: agent (guest PID 1) killed by signal 9");
  REQUIRE(driver->boots().size() == 1);

  grpc::ServerContext context;
  switchyard::types::v1::DockerRequest request;
  switchyard::types::v1::DockerReply reply;
  grpc::Status call = service.EngineExchange(&context, &request, &reply);
  CHECK(driver->boots().size() == 2);
  // Past the VM manager: the fake agent has no engine to answer with.
  CHECK(call.error_code() == grpc::StatusCode::UNIMPLEMENTED);

  service.Shutdown();
}

TEST_CASE("an engine call gives up on a VM that stays booting after the boot wait", "[vmm][unit]") {
  AgentOnSocket fake("sy-vmm-boot-test", agentpb::ENGINE_STATE_STARTING);
  auto driver = std::make_unique<FakeVmDriver>();
  driver->set_agent_endpoint(fake.socket);
  switchyard::vmm::VmSpec spec;
  spec.backend = "vz";
  auto options = FastOptions();
  options.boot_wait = absl::Milliseconds(200);
  VmManagerService service(std::move(driver), spec, switchyard::vmm::UnixAgentConnector(), options);
  service.Start();
  REQUIRE(WaitForState(service, pb::VM_STATE_BOOTING).state() == pb::VM_STATE_BOOTING);
  ::usleep(200 * 1000);  // past the agent's first answer

  grpc::ServerContext context;
  switchyard::types::v1::DockerRequest request;
  switchyard::types::v1::DockerReply reply;
  const absl::Time start = absl::Now();
  grpc::Status status = service.EngineExchange(&context, &request, &reply);
  CHECK(absl::Now() - start < absl::Seconds(2));
  CHECK(status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(status.error_message() == "backend vz is not running: guest engine is ENGINE_STATE_STARTING");

  service.Shutdown();
}

TEST_CASE("SyncPorts binds host listeners and reports failures in dockerd's words", "[vmm][unit]") {
  switchyard::vmm::VmSpec spec;
  spec.backend = "hv";
  // Not started: listeners bind anyway, tunnels are refused until the VM runs.
  VmManagerService service(std::make_unique<FakeVmDriver>(), spec, switchyard::vmm::UnixAgentConnector(),
                           FastOptions());
  int taken = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(taken, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(::listen(taken, 1) == 0);
  socklen_t len = sizeof(addr);
  ::getsockname(taken, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);

  pb::SyncPortsRequest request;
  auto* busy = request.add_ports();
  busy->set_protocol("tcp");
  busy->set_host_ip("127.0.0.1");
  busy->set_host_port(port);
  busy->set_guest_port(80);
  busy->set_container_id("abc");
  auto* udp = request.add_ports();
  udp->set_protocol("udp");
  udp->set_host_ip("127.0.0.1");
  udp->set_host_port(port);  // UDP and TCP ports are separate spaces
  udp->set_guest_port(53);
  pb::SyncPortsResponse response;
  REQUIRE(service.SyncPorts(nullptr, &request, &response).ok());
  REQUIRE(response.bound() == 1);
  REQUIRE(response.failures_size() == 1);
  REQUIRE(response.failures(0).port().host_port() == port);
  REQUIRE(response.failures(0).port().container_id() == "abc");
  REQUIRE(response.failures(0).error() ==
          "listen tcp4 127.0.0.1:" + std::to_string(port) + ": bind: address already in use");
  ::close(taken);
  service.Shutdown();
}

TEST_CASE("an on-demand VM sleeps until a call needs it; concurrent calls share one boot", "[vmm][unit]") {
  AgentOnSocket fake("sy-vmm-lazy-test", agentpb::ENGINE_STATE_RUNNING);
  auto owned = std::make_unique<FakeVmDriver>();
  FakeVmDriver* driver = owned.get();
  driver->set_agent_endpoint(fake.socket);
  switchyard::vmm::VmSpec spec;
  spec.backend = "vz";
  spec.state_dir = fake.dir.string();
  auto options = FastOptions();
  options.boot_at_start = false;
  options.idle_stop = absl::Milliseconds(300);
  VmManagerService service(std::move(owned), spec, switchyard::vmm::UnixAgentConnector(), options);
  service.Start();
  pb::GetVmStatusResponse status = WaitForState(service, pb::VM_STATE_ASLEEP);
  REQUIRE(status.state() == pb::VM_STATE_ASLEEP);
  CHECK(status.last_stop() == "not started yet: it starts when a workload needs it");
  CHECK(status.vm_pid() == 0);

  // A read the control plane makes is answered from what the VM last
  // reported (nothing yet), without a boot.
  {
    grpc::ServerContext context;
    switchyard::types::v1::DockerRequest request;
    request.set_method("GET");
    request.set_target("/v1.41/containers/json?all=1");
    switchyard::types::v1::DockerReply reply;
    REQUIRE(service.EngineExchange(&context, &request, &reply).ok());
    CHECK(reply.status() == 200);
    CHECK(reply.body() == "[]\n");
  }
  CHECK(driver->boots().empty());

  // Three calls that need the VM: one boot, and each goes through.
  std::vector<std::thread> callers;
  std::atomic<int> reached{0};
  for (int i = 0; i < 3; ++i) {
    callers.emplace_back([&] {
      grpc::ServerContext context;
      switchyard::types::v1::DockerRequest request;
      request.set_method("POST");
      request.set_target("/v1.41/containers/create");
      switchyard::types::v1::DockerReply reply;
      // Past the VM manager: the fake agent does not serve creates.
      if (service.EngineExchange(&context, &request, &reply).error_code() == grpc::StatusCode::UNIMPLEMENTED) {
        ++reached;
      }
    });
  }
  for (auto& t : callers) t.join();
  CHECK(reached == 3);
  CHECK(driver->boots().size() == 1);

  // Idle (nothing runs, no call) for the idle time: asleep again, saying why.
  status = WaitForState(service, pb::VM_STATE_ASLEEP);
  REQUIRE(status.state() == pb::VM_STATE_ASLEEP);
  CHECK(status.last_stop().rfind("idle for 300ms", 0) == 0);
  CHECK(fs::exists(fake.dir / "asleep.json"));
  service.Shutdown();
}

TEST_CASE("a control-plane read while the VM goes to sleep waits and is answered asleep", "[vmm][unit]") {
  AgentOnSocket fake("sy-vmm-stopping-test", agentpb::ENGINE_STATE_RUNNING);
  {
    absl::MutexLock lock(&fake.agent.mu);
    fake.agent.snapshot_read_delay = absl::Milliseconds(200);
  }
  auto owned = std::make_unique<FakeVmDriver>();
  owned->set_agent_endpoint(fake.socket);
  switchyard::vmm::VmSpec spec;
  spec.backend = "vz";
  spec.state_dir = fake.dir.string();
  auto options = FastOptions();
  options.boot_at_start = false;
  options.idle_stop = absl::Milliseconds(300);
  VmManagerService service(std::move(owned), spec, switchyard::vmm::UnixAgentConnector(), options);
  service.Start();
  REQUIRE(WaitForState(service, pb::VM_STATE_ASLEEP).state() == pb::VM_STATE_ASLEEP);
  {
    grpc::ServerContext context;
    switchyard::types::v1::DockerRequest request;
    request.set_method("POST");
    request.set_target("/v1.41/containers/create");
    switchyard::types::v1::DockerReply reply;
    service.EngineExchange(&context, &request, &reply);  // wakes it
  }
  // Idle again: the manager records the engine's state (slowly) and stops.
  REQUIRE(WaitForState(service, pb::VM_STATE_STOPPING).state() == pb::VM_STATE_STOPPING);
  grpc::ServerContext context;
  switchyard::types::v1::DockerRequest request;
  request.set_method("GET");
  request.set_target("/v1.41/containers/json?all=1");
  switchyard::types::v1::DockerReply reply;
  grpc::Status answered = service.EngineExchange(&context, &request, &reply);
  INFO(answered.error_message());
  REQUIRE(answered.ok());
  CHECK(reply.status() == 200);
  CHECK(reply.body() == "[]\n");
  pb::GetVmStatusResponse status;
  service.GetVmStatus(nullptr, nullptr, &status);
  CHECK(status.state() == pb::VM_STATE_ASLEEP);  // the read did not wake it
  service.Shutdown();
}
