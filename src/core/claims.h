// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Registered JWT claims (RFC 7519 section 4.1) as Stytch's SDKs check them:
// iss, aud, and the time claims exp, nbf and iat.

#ifndef STYTCH_CORE_CLAIMS_H_
#define STYTCH_CORE_CLAIMS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "insitu_json.h"
#include "status.h"

namespace stytch {

struct VerifyParams {
  int64_t now = 0;
  int64_t leeway = 0;          // negative is treated as 0
  int64_t max_token_age = -1;  // < 0: no limit; 0: every token is too old
  unsigned kinds = 0;          // STYTCH_KIND_* bits; 0: sessions only
};

struct TimeClaims {
  int64_t exp = 0;
  int64_t nbf = 0;
  int64_t iat = 0;
  bool has_nbf = false;
  bool has_iat = false;
};

// "https://x.example//" -> "https://x.example", as the SDKs compare it.
std::string TrimTrailingSlashes(std::string_view url);

// The iss values a verifier accepts.  Comparisons are exact bytes, as in
// every SDK; only trailing slashes may be trimmed.
class Issuers {
 public:
  // The SDKs' pair: "stytch.com/<project_id>", and the API base URL
  // without trailing slashes (the custom-domain form) when it is not
  // empty.  The token's iss is compared as it is, as the SDKs do.
  static Issuers Default(std::string_view project_id, std::string_view api_url);
  // Exactly `list`, with trailing slashes trimmed on both sides, so that
  // "https://auth.example.com/" in a configuration accepts the issuer
  // Stytch writes without one.  Entries that trim to nothing are ignored:
  // they must not accept an empty iss.
  static Issuers Explicit(const std::vector<std::string>& list);

  bool Accepts(std::string_view iss) const;

 private:
  std::vector<std::string> values_;
  bool trim_token_ = false;
};

// iss is a string that `accepted` accepts, else kClaimIssuerMismatch.
Status CheckIssuer(const InsituJson& payload, const Issuers& accepted);

// aud is a string equal to the project id, or a non-empty array holding it.
Status CheckAudience(const InsituJson& payload, std::string_view project_id);

// exp is required; exp, nbf and iat, when present, must be JSON integers.
// A real (1.5, 1e30) is refused as kClaimInvalid although RFC 7519 allows
// fractions: Stytch only writes integers, and refusing keeps every later
// comparison in exact int64 arithmetic, with no float rounding that could
// stretch a lifetime.  Integers beyond int64 already fail to parse.
Status ReadTimeClaims(const InsituJson& payload, TimeClaims* out);

// The checks that make a token invalid outright (401): nbf > now + leeway,
// or iat > now + leeway (issued in the future).
Status CheckNotBefore(const TimeClaims& t, const VerifyParams& p);

// The checks the API can override (fallback): expired when
// now >= exp + leeway; too old when max_token_age >= 0 and
// now - iat >= max_token_age.  A max age with no iat is kClaimInvalid: the
// age cannot be known, and node's SDK refuses it the same way.
Status CheckFreshness(const TimeClaims& t, const VerifyParams& p);

}  // namespace stytch

#endif  // STYTCH_CORE_CLAIMS_H_
