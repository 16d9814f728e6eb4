#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libs/stream_mux/mux_link.h"

namespace switchyard::agent {

// The device of the virtio-serial port named `name` (the driver's
// `virtserialport,name=…`): /dev/vportNpM, found by its name in sysfs.
absl::StatusOr<std::string> FindVirtioPort(const std::string& name,
                                           const std::string& sys_ports = "/sys/class/virtio-ports",
                                           const std::string& dev = "/dev");

// Serves the agent's endpoints (their Unix sockets in the guest) to the VM
// manager over that port, on a VM without vsock.
// `sockets`: port -> the agent's Unix socket (stream_mux::AgentPortSockets).
absl::StatusOr<std::unique_ptr<stream_mux::MuxLink>> ServeOverSerialPort(
    const std::string& port_name, const std::map<uint32_t, std::string>& sockets);

}  // namespace switchyard::agent
