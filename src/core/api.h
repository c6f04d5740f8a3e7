// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Answers of the Stytch API's sessions/authenticate endpoint.

#ifndef STYTCH_CORE_API_H_
#define STYTCH_CORE_API_H_

#include <string_view>

#include "ref.h"
#include "session.h"
#include "status.h"
#include "stytch_core.h"

namespace stytch {

// What an answer means (200: kOk), from its HTTP status and its
// error_type: empty when the body is no Stytch error (not a JSON object
// with a non-empty string error_type, or error in the OAuth2 form).  See
// stytch_api_parse_error in stytch_core.h for the table.
Status ApiErrorStatus(int http_status, std::string_view error_type);

// The directive(s) to check when ApiErrorStatus is our misconfiguration
// (kApiUnauthorized, kApiMisconfigured), else nullptr.
const char* ApiErrorDirective(int http_status, std::string_view error_type);

// Any endpoint's answer: 200 is kOk; otherwise *error (may be null,
// always zeroed first) is filled from the body and ApiErrorStatus says.
Status ParseApiError(int http_status, std::string_view body,
                     stytch_api_error_t* error);

// SHA-256 of what a document says: a Stytch answer (key set, policy)
// without the members that change with every answer (request_id,
// status_code), as compact text with sorted keys, so that the same keys or
// policy fetched twice give the same digest.  kApiResponseInvalid when the
// text is no JSON object.
Status DocumentDigest(std::string_view text, size_t max_size,
                      unsigned char out[32]);

// Parses sessions/authenticate's answer.  200: the consumer ("session") or
// B2B ("member_session") body into *out, else kApiResponseInvalid.  Other
// statuses: ParseApiError.
Status ParseAuthenticateResponse(int http_status, std::string_view body,
                                 Ref<Session>* out, stytch_api_error_t* error);

// Parses an RFC 7662 introspection answer of Stytch's Connected Apps
// (stytch_api_parse_introspection in stytch_core.h has the rules).  The
// shape is stytch-node's IntrospectTokenActiveResponse (lib/b2c/idp.ts,
// lib/b2b/idp.ts); *out is set on kOk only.
Status ParseIntrospectionResponse(int http_status, std::string_view body,
                                  Ref<Session>* out, stytch_api_error_t* error);

// exp of a JWT without verifying it; 0 when unreadable.  Only for tokens
// that Stytch itself just returned to us over an authenticated channel,
// to learn how long the new cookie lives.
int64_t UnverifiedJwtExp(std::string_view jwt);

}  // namespace stytch

#endif  // STYTCH_CORE_API_H_
