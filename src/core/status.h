// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Status: every outcome of the core, and what the module does with it.
//
// The values are those of stytch_status_t in stytch_core.h, one for one, so
// the facade converts with a cast; status.cc checks that at compile time.

#ifndef STYTCH_CORE_STATUS_H_
#define STYTCH_CORE_STATUS_H_

#include "stytch_core.h"

namespace stytch {

enum class Status : int {
  kOk = STYTCH_OK,
  kTokenMissing = STYTCH_TOKEN_MISSING,
  kTokenTooLarge = STYTCH_TOKEN_TOO_LARGE,
  kTokenMalformed = STYTCH_TOKEN_MALFORMED,
  kJwtHeaderInvalid = STYTCH_JWT_HEADER_INVALID,
  kJwtAlgNotAllowed = STYTCH_JWT_ALG_NOT_ALLOWED,
  kJwtKidMissing = STYTCH_JWT_KID_MISSING,
  kJwtTypInvalid = STYTCH_JWT_TYP_INVALID,
  kJwtCritPresent = STYTCH_JWT_CRIT_PRESENT,
  kJwtPayloadInvalid = STYTCH_JWT_PAYLOAD_INVALID,
  kJwtSignatureInvalid = STYTCH_JWT_SIGNATURE_INVALID,
  kClaimIssuerMismatch = STYTCH_CLAIM_ISSUER_MISMATCH,
  kClaimAudienceMismatch = STYTCH_CLAIM_AUDIENCE_MISMATCH,
  kClaimInvalid = STYTCH_CLAIM_INVALID,
  kClaimNotYetValid = STYTCH_CLAIM_NOT_YET_VALID,
  kSessionClaimInvalid = STYTCH_SESSION_CLAIM_INVALID,
  kJwtExpired = STYTCH_JWT_EXPIRED,
  kJwtTooOld = STYTCH_JWT_TOO_OLD,
  kJwksUnknownKid = STYTCH_JWKS_UNKNOWN_KID,
  kJwksNoKeys = STYTCH_JWKS_NO_KEYS,
  kJwksInvalid = STYTCH_JWKS_INVALID,
  kJwksNoUsableKey = STYTCH_JWKS_NO_USABLE_KEY,
  kPolicyInvalid = STYTCH_POLICY_INVALID,
  kApiResponseInvalid = STYTCH_API_RESPONSE_INVALID,
  kApiSessionNotFound = STYTCH_API_SESSION_NOT_FOUND,
  kApiUnauthorized = STYTCH_API_UNAUTHORIZED,
  kApiForbidden = STYTCH_API_FORBIDDEN,
  kApiUnavailable = STYTCH_API_UNAVAILABLE,
  kPermissionDenied = STYTCH_PERMISSION_DENIED,
  kTenancyMismatch = STYTCH_TENANCY_MISMATCH,
  kNoMemory = STYTCH_NO_MEMORY,
  kInternalError = STYTCH_INTERNAL_ERROR,
  kTokenKindNotAllowed = STYTCH_TOKEN_KIND_NOT_ALLOWED,
  kScopeMissing = STYTCH_SCOPE_MISSING,
  kApiMisconfigured = STYTCH_API_MISCONFIGURED,
  kApiRateLimited = STYTCH_API_RATE_LIMITED,
  kApiCallsLimited = STYTCH_API_CALLS_LIMITED,
  kIdentityInvalid = STYTCH_IDENTITY_INVALID,
  kApiTokenInactive = STYTCH_API_TOKEN_INACTIVE,
};

enum class Action : int {
  kAllow = STYTCH_ACTION_ALLOW,
  kUnauthorized = STYTCH_ACTION_UNAUTHORIZED,
  kFallback = STYTCH_ACTION_FALLBACK,
  kForbidden = STYTCH_ACTION_FORBIDDEN,
  kUnavailable = STYTCH_ACTION_UNAVAILABLE,
  kError = STYTCH_ACTION_ERROR,
};

inline constexpr int kStatusCount = STYTCH_STATUS_MAX;

// Stable snake_case name; "unknown" for a value outside the enum.
const char* StatusName(Status status) noexcept;

// Out-of-range values give kError: an unknown outcome must never allow.
Action StatusAction(Status status) noexcept;

inline stytch_status_t ToC(Status s) noexcept {
  return static_cast<stytch_status_t>(s);
}

}  // namespace stytch

#endif  // STYTCH_CORE_STATUS_H_
