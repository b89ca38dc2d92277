#include "orchestrate/event_bus.h"

#include <vector>

#include "common/clock.h"

namespace loch::orchestrate {

nlohmann::json Event::ToJson() const {
  return {
      {"sequence", sequence}, {"time", FormatIsoMicros(micros)}, {"type", type}, {"data", data}};
}

void EventBus::Publish(Event event) {
  std::lock_guard publishing(publish_mu_);
  std::vector<Subscriber> subscribers;
  {
    std::lock_guard lock(mu_);
    event.sequence = next_sequence_++;
    event.micros = NowMicros();
    for (const auto& [id, subscriber] : subscribers_) subscribers.push_back(subscriber);
  }
  for (const Subscriber& subscriber : subscribers) subscriber(event);
}

int EventBus::Subscribe(Subscriber subscriber) {
  std::lock_guard lock(mu_);
  const int id = next_id_++;
  subscribers_.emplace(id, std::move(subscriber));
  return id;
}

void EventBus::Unsubscribe(int id) {
  // Taking the publication lock waits for a publication that may still call it.
  std::lock_guard publishing(publish_mu_);
  std::lock_guard lock(mu_);
  subscribers_.erase(id);
}

}  // namespace loch::orchestrate
