#pragma once
// Logging: spdlog, to stderr, so that command output on stdout stays machine-readable.
//
// Level from the LOCH_LOG_LEVEL environment variable (trace, debug, info, warn, error, off);
// default "warn" for the CLI so that normal runs print only their answers.

#include "spdlog/spdlog.h"

namespace loch {

// Configures the default logger once; later calls only change the level. Thread-safe.
void InitLogging(const char* default_level = "warn");

}  // namespace loch
