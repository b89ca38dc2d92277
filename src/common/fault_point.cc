#include "common/fault_point.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace loch {

void FaultPoint(std::string_view point) {
  const char* pause_at = std::getenv("LOCH_FAULT_PAUSE");
  if (pause_at == nullptr || point != pause_at) return;
  const std::string line = "loch: paused at fault point " + std::string(point) + "\n";
  (void)!write(STDERR_FILENO, line.data(), line.size());
  for (;;) pause();
}

}  // namespace loch
