#pragma once
// Fault points: places where crash tests stop a process at an exact moment. A fault point does
// nothing unless the environment names it:
//   LOCH_FAULT_PAUSE=NAME  the process writes "loch: paused at fault point NAME" to stderr and
//                          waits until it is killed;
//   LOCH_FAULT_CRASH=NAME  the process writes "loch: crashed at fault point NAME" and aborts
//                          (SIGABRT), as a crash would end it.
// With LOCH_FAULT_ONCE_DIR=DIR as well, a point fires only in the first process that reaches it
// (the one that creates DIR/NAME): the test of a retry in a new process sees the first attempt
// fail and the next one pass.
// Thread-safety: safe from any thread.

#include <string_view>

namespace loch {

void FaultPoint(std::string_view point);

}  // namespace loch
