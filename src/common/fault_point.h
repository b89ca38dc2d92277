#pragma once
// Fault points: places where crash tests stop a process at an exact moment. When the environment
// variable LOCH_FAULT_PAUSE names the point, the process writes "loch: paused at fault point
// NAME" to stderr and waits until it is killed; otherwise a fault point does nothing.
// Thread-safety: safe from any thread.

#include <string_view>

namespace loch {

void FaultPoint(std::string_view point);

}  // namespace loch
