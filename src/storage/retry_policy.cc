#include "storage/retry_policy.h"

#include <algorithm>
#include <cmath>

namespace loch {

std::chrono::milliseconds RetryPolicy::DelayBefore(
    int attempt, const std::function<double()>& random_unit) const {
  const double exponential =
      static_cast<double>(base_delay.count()) * std::pow(2.0, std::max(0, attempt - 2));
  const double cap = std::min(exponential, static_cast<double>(max_delay.count()));
  return std::chrono::milliseconds(static_cast<int64_t>(cap * random_unit()));
}

bool IsRetryableHttpStatus(long status) { return status >= 500 || status == 429; }

}  // namespace loch
