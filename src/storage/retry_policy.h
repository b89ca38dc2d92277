#pragma once
// Retry decisions and backoff for remote object stores.

#include <chrono>
#include <cstdint>
#include <functional>

namespace loch {

struct RetryPolicy {
  int max_attempts = 5;                       // first try included
  std::chrono::milliseconds base_delay{100};  // before the second attempt (before jitter)
  std::chrono::milliseconds max_delay{5000};

  // Delay before attempt `attempt` (2, 3, ...): exponential in the attempt number, capped, with
  // "full jitter" (uniform in [0, cap]) so that many clients retrying at once spread out.
  // `random_unit` returns a number in [0, 1).
  std::chrono::milliseconds DelayBefore(int attempt,
                                        const std::function<double()>& random_unit) const;
};

// Whether an HTTP status is worth retrying: 5xx and 429 (throttling); never other 4xx client
// errors.
bool IsRetryableHttpStatus(long status);

}  // namespace loch
