#pragma once
// The web console (web/): its files at `/`, and signing in.
//
// clang-format off
//   GET    /, /index.html, /assets/...  the console's files (console_assets.h): gzip when the client
//                                  takes it, ETag and If-None-Match, hashed assets cached for a year,
//                                  a Content-Security-Policy that allows nothing but this server
//   POST   /api/v1/session         {"user", "password"}: the lake admin's pg_user and pg_password
//                                  (admin-credentials.json) -> {"user", "csrf_token"} and the
//                                  session cookie (HttpOnly, SameSite=Strict; Secure over HTTPS).
//                                  401 for a wrong pair; 429 after 10 failures from an address in
//                                  10 minutes
//   GET    /api/v1/session         the signed-in session -> {"user", "csrf_token"}, or 401
//   DELETE /api/v1/session         signs out (needs X-CSRF-Token)
// clang-format on
//
// Every other /api/ route takes the session cookie as it takes a bearer token (http_api.h), with
// `X-CSRF-Token` on requests that change something.

#include "server/admin_credentials.h"
#include "server/front_door.h"

namespace loch {

// The fast route that serves the console's files from memory, on the front door's loop.
FastRoute ConsoleFilesRoute();

// Registers the session routes. `credentials` must outlive `routes`. `https`: cookies get Secure.
void RegisterConsoleApi(RoutedServer& routes, const CredentialsKeeper& credentials, bool https);

}  // namespace loch
