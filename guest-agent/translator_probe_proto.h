#pragma once

#include "guest-agent/capabilities.h"
#include "switchyard/types/v1/engine.pb.h"

namespace switchyard::agent {

// A probe as the agent reports it (GetInfo) and a VM manager passes it on.
inline void ToProto(const TranslatorProbe& probe, types::v1::TranslatorProbe* out) {
  out->set_handler(probe.handler);
  out->set_arch(probe.arch);
  out->set_ran(probe.ran);
  out->set_millis(probe.millis);
  out->set_error(probe.error);
}

}  // namespace switchyard::agent
