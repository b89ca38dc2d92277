#pragma once
// Who may send a request body: decided from the headers alone, before the body is read (see
// FrontDoorOptions::admit_body), so that clients without credentials cannot make the server hold
// memory for them.

#include <httplib.h>

#include "common/status.h"
#include "server/admin_credentials.h"

namespace loch {

// OK if `request` carries the lake's bearer token, or an AWS SigV4 Authorization header naming
// the lake's access key (its signature is verified with the body, by the API that answers).
// Unauthenticated without credentials, PermissionDenied with wrong ones; messages say which.
absl::Status AdmitRequestBody(const httplib::Request& request, const CredentialsKeeper& credentials);

}  // namespace loch
