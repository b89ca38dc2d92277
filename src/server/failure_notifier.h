#pragma once
// FailureNotifier: pushes failures to webhooks as they are published on the event bus, signed
// (webhook.h):
//   - a run that ended FAILED or TIMEOUT: to its job's `failure_webhook` and to the server's
//     (`loch serve --failure-webhook`), as {"event": "run_failed", "run": {...}} with the run's
//     error, log tail and whether it will be retried;
//   - both with "sql_position" {line, column} and "file" (a lake key) when the error names them;
//   - a failed query: to the server's webhook (its workgroup's webhook is posted by the query
//     path itself), as {"event": "query_failed", ...};
//   - a freshness alert: to the server's webhook, as {"event": "table_stale", ...}.
// (A notification given up after its retries is recorded by the sender's on_gave_up, which the
// server sets: logged, and published as a "webhook_failed" event.)
//
// Thread-safety: events arrive on the publishing thread; the posting is the sender's.

#include <string>

#include "catalog/catalog.h"
#include "orchestrate/event_bus.h"
#include "server/webhook.h"

namespace loch {

class FailureNotifier {
 public:
  // `bus`, `catalog` and `webhooks` outlive the notifier. `server_webhook` may be empty.
  FailureNotifier(orchestrate::EventBus& bus, Catalog& catalog, WebhookSender& webhooks,
                  std::string server_webhook);
  ~FailureNotifier();

 private:
  void OnEvent(const orchestrate::Event& event);

  orchestrate::EventBus& bus_;
  Catalog& catalog_;
  WebhookSender& webhooks_;
  const std::string server_webhook_;
  int subscription_ = -1;
};

}  // namespace loch
