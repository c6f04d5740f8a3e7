// Registered JWT claims (RFC 7519 section 4.1) as Stytch's SDKs check them:
// iss, aud, and the time claims exp, nbf and iat.

#ifndef STYTCH_CORE_CLAIMS_H_
#define STYTCH_CORE_CLAIMS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "insitu_json.h"
#include "status.h"

namespace stytch {

struct VerifyParams {
  int64_t now = 0;
  int64_t leeway = 0;          // negative is treated as 0
  int64_t max_token_age = -1;  // < 0: no limit; 0: every token is too old
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

// iss must equal "stytch.com/<project_id>", or `base_issuer` (the API base
// URL without trailing slashes) when that is not empty: the custom-domain
// form.  Exact byte comparison, as in every SDK.
Status CheckIssuer(const InsituJson& payload, std::string_view project_issuer,
                   std::string_view base_issuer);

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
