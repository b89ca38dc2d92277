#include "common/version.h"

namespace loch {

const char* LochVersion() { return LOCH_VERSION; }

}  // namespace loch
