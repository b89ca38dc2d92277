#pragma once
// Watchdog: interrupts DuckDB connections whose queries run past their deadline.
// One background thread serves all queries. Thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "engine/duck.h"

namespace loch {

class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;
  Watchdog();
  ~Watchdog();

  // Arms a deadline for `connection`, which must stay alive until Disarm(id) returns. When the
  // deadline passes, `fired` becomes true and the connection is interrupted. Returns an id for
  // Disarm.
  int Arm(Clock::time_point deadline, duck::Connection* connection,
          std::shared_ptr<std::atomic<bool>> fired);
  // Removes the deadline; after it returns, the watchdog no longer touches the connection.
  void Disarm(int id);

 private:
  struct Entry {
    Clock::time_point deadline;
    duck::Connection* connection;
    std::shared_ptr<std::atomic<bool>> fired;
  };
  void Run();

  std::mutex mu_;
  std::condition_variable changed_;
  std::map<int, Entry> entries_;
  int next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace loch
