#pragma once
// Who may send a request body: decided from the headers alone, before the body is read (see
// FrontDoorOptions::admit_body), so that clients without credentials cannot make the server hold
// memory for them.

#include <httplib.h>

#include "common/status.h"
#include "server/admin_credentials.h"

namespace loch {

// The console's sign-in (console_api.h): the only body admitted without credentials, and only
// this small.
inline constexpr char kSignInPath[] = "/api/v1/session";
inline constexpr int64_t kMaxSignInBodyBytes = 4096;

// OK if `request` carries the lake's bearer token, an AWS SigV4 Authorization header naming the
// lake's access key (its signature is verified with the body, by the API that answers), or the
// cookie of a live console session (its CSRF token is checked by the API that answers); and for
// a sign-in, if its body is at most kMaxSignInBodyBytes.
// Unauthenticated without credentials, PermissionDenied with wrong ones; messages say which.
absl::Status AdmitRequestBody(const httplib::Request& request,
                              const CredentialsKeeper& credentials);

}  // namespace loch
