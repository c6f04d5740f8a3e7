// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Compact JWS (RFC 7515 section 7.1) parsing, restricted to what Stytch
// issues: RS256 session JWTs.

#ifndef STYTCH_CORE_JWT_H_
#define STYTCH_CORE_JWT_H_

#include <memory>
#include <string>
#include <string_view>

#include "insitu_json.h"
#include "json.h"
#include "status.h"

namespace stytch {

// Views into the caller's token.
struct JwsSegments {
  std::string_view header;         // base64url
  std::string_view payload;        // base64url
  std::string_view signature;      // base64url
  std::string_view signing_input;  // "header.payload", the signed bytes
};

// Checks the size first (before any work scales with it), then that there
// are exactly three segments, header and payload non-empty, each strict
// base64url.  The signature may be empty here so that "alg":"none" tokens
// are refused by name, as kJwtAlgNotAllowed.
Status SplitJws(std::string_view token, JwsSegments* out);

// The same checks with the same results, and the payload and signature
// decoded into *payload and *signature: strict decoding is the check, so
// that the verifier reads those bytes once.  *payload is given room for
// twice its text, which ParseJwtPayloadJson uses without reallocating.
Status SplitJwsDecoding(std::string_view token, JwsSegments* out,
                        std::string* payload, std::string* signature);

struct JwtHeader {
  std::string kid;
};

// Longest kid we look up; Stytch's are about 45 characters.
inline constexpr size_t kMaxKidLength = 256;

// Decodes and checks the protected header.  The rules, in this order:
//  - a JSON object, else kJwtHeaderInvalid;
//  - alg is exactly "RS256", else kJwtAlgNotAllowed, before anything looks
//    at a key: the algorithm must come from us, never from the token, or
//    "none" and HS256-keyed-with-the-public-key forgeries get through;
//  - no crit: we understand no extension, and RFC 7515 4.1.11 says a
//    recipient that does not must reject the token;
//  - kid is a non-empty string, else kJwtKidMissing: picking a key by trial
//    would turn one forged token into several RSA operations;
//  - typ absent or "JWT" in any case, else kJwtTypInvalid.
// jku, x5u, jwk and x5c are never read: keys come only from our JWKS.
Status ParseJwtHeader(std::string_view header_b64, JwtHeader* out);

// A decoded payload: the JSON text as signed, and its parse.  The text is
// kept for jansson, which renders custom claims when (if ever) asked; it
// shares the parse's buffer.
struct JwtPayload {
  InsituJson doc;
  std::string_view text() const { return doc.text(); }
  const JNode* root() const { return doc.root(); }
};

// Decodes the payload; it must be a JSON object (kJwtPayloadInvalid).  Only
// called after the signature has been checked, so that forged tokens never
// reach the JSON parser beyond their small header.  Parsed by InsituJson,
// the hot path's parser (see insitu_json.h for why not jansson).
Status ParseJwtPayload(std::string_view payload_b64,
                       std::unique_ptr<JwtPayload>* out);
// The same from JSON text.
Status ParseJwtPayloadJson(std::string json, std::unique_ptr<JwtPayload>* out);

}  // namespace stytch

#endif  // STYTCH_CORE_JWT_H_
