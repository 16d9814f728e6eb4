#include "guest-agent/serial_link.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace switchyard::agent {
namespace fs = std::filesystem;

absl::StatusOr<std::string> FindVirtioPort(const std::string& name, const std::string& sys_ports,
                                           const std::string& dev) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(sys_ports, ec)) {
    std::ifstream in(entry.path() / "name");
    std::string port_name;
    std::getline(in, port_name);
    if (absl::StripAsciiWhitespace(port_name) == name) return (fs::path(dev) / entry.path().filename()).string();
  }
  return absl::NotFoundError(absl::StrCat("no virtio-serial port named ", name, " in ", sys_ports));
}

absl::StatusOr<std::unique_ptr<stream_mux::MuxLink>> ServeOverSerialPort(
    const std::string& port_name, const std::map<uint32_t, std::string>& sockets) {
  stream_mux::MuxOptions options;
  options.role = stream_mux::MuxOptions::Role::kAcceptor;
  options.name = port_name;
  options.ports = sockets;
  options.dial_link = [port_name]() -> absl::StatusOr<int> {
    absl::StatusOr<std::string> device = FindVirtioPort(port_name);
    if (!device.ok()) return device.status();
    // Closing and opening the port again after the host end went away drops
    // what the old host connection left unread (virtio_console.c).
    int fd = ::open(device->c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return absl::UnavailableError(absl::StrCat("open ", *device, ": ", std::strerror(errno)));
    return fd;
  };
  auto link = std::make_unique<stream_mux::MuxLink>(std::move(options));
  if (absl::Status started = link->Start(); !started.ok()) return started;
  return link;
}

}  // namespace switchyard::agent
