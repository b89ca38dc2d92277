#pragma once
// Handlers that answer later. A request whose answer waits on something slow but not busy (a put
// waiting for its fsync) should not hold a thread meanwhile: an AsyncHttpHandler starts the work
// and returns; whoever finishes it calls the HttpReply. The front door (front_door.h) serves such
// handlers without a thread per request; WaitForReply runs them under cpp-httplib's blocking
// handlers, where the thread waits after all.

#include <functional>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace loch {

// Answers one request: call it exactly once, from any thread.
using HttpReply = std::function<void(httplib::Response&&)>;
// Starts answering `request`, which stays valid until `reply` is called.
using AsyncHttpHandler = std::function<void(const httplib::Request& request, HttpReply reply)>;

// A cpp-httplib handler that runs `handler` and waits for its reply.
std::function<void(const httplib::Request&, httplib::Response&)> WaitForReply(
    AsyncHttpHandler handler);

}  // namespace loch
