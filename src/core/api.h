// Answers of the Stytch API's sessions/authenticate endpoint.

#ifndef STYTCH_CORE_API_H_
#define STYTCH_CORE_API_H_

#include <string_view>

#include "ref.h"
#include "session.h"
#include "status.h"
#include "stytch_core.h"

namespace stytch {

// What an HTTP status of POST /v1[/b2b]/sessions/authenticate means.
Status ApiStatusFromHttp(int http_status);

// Parses the answer.  200: the consumer ("session") or B2B
// ("member_session") body into *out, else kApiResponseInvalid.  Other
// statuses: ApiStatusFromHttp, with *error (may be null) filled from the
// error body when it parses; error is always zeroed first.
Status ParseAuthenticateResponse(int http_status, std::string_view body,
                                 Ref<Session>* out, stytch_api_error_t* error);

// exp of a JWT without verifying it; 0 when unreadable.  Only for tokens
// that Stytch itself just returned to us over an authenticated channel,
// to learn how long the new cookie lives.
int64_t UnverifiedJwtExp(std::string_view jwt);

}  // namespace stytch

#endif  // STYTCH_CORE_API_H_
