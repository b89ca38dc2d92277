#include "server/http_reply.h"

#include <httplib.h>

#include <future>

namespace loch {

std::function<void(const httplib::Request&, httplib::Response&)> WaitForReply(
    AsyncHttpHandler handler) {
  return [handler = std::move(handler)](const httplib::Request& request,
                                        httplib::Response& response) {
    std::promise<httplib::Response> answer;
    std::future<httplib::Response> answered = answer.get_future();
    handler(request, [&answer](httplib::Response&& reply) { answer.set_value(std::move(reply)); });
    response = answered.get();
  };
}

}  // namespace loch
