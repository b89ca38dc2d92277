#include "engine/watchdog.h"

namespace loch {

Watchdog::Watchdog() : thread_([this] { Run(); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

int Watchdog::Arm(Clock::time_point deadline, duck::Connection* connection,
                  std::shared_ptr<std::atomic<bool>> fired) {
  int id;
  {
    std::lock_guard lock(mu_);
    id = next_id_++;
    entries_[id] = Entry{deadline, connection, std::move(fired)};
  }
  changed_.notify_all();
  return id;
}

void Watchdog::Disarm(int id) {
  std::lock_guard lock(mu_);
  entries_.erase(id);
}

void Watchdog::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    auto next = Clock::time_point::max();
    const auto now = Clock::now();
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->second.deadline <= now) {
        // Interrupting under the lock: Disarm waits for us, so the connection is still alive.
        it->second.fired->store(true);
        it->second.connection->Interrupt();
        it = entries_.erase(it);
      } else {
        next = std::min(next, it->second.deadline);
        ++it;
      }
    }
    if (next == Clock::time_point::max()) {
      changed_.wait(lock);
    } else {
      changed_.wait_until(lock, next);
    }
  }
}

}  // namespace loch
