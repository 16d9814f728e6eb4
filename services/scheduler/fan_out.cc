#include "services/scheduler/fan_out.h"

namespace switchyard::scheduler {

threads::ReusableThreads& FanOutThreads() {
  static auto* threads = new threads::ReusableThreads(absl::Seconds(30));  // lives as long as the process
  return *threads;
}

}  // namespace switchyard::scheduler
