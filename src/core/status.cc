// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "status.h"

#include <cstddef>
#include <iterator>

namespace stytch {
namespace {

struct StatusInfo {
  Status status;
  const char* name;
  Action action;
};

// The one table.  Its order is the enum's, which kTableInOrder proves at
// compile time, so a status added to the header without a row here (or a
// row out of place) breaks the build instead of logging a wrong name.
constexpr StatusInfo kTable[] = {
    {Status::kOk, "ok", Action::kAllow},
    {Status::kTokenMissing, "token_missing", Action::kUnauthorized},
    {Status::kTokenTooLarge, "token_too_large", Action::kUnauthorized},
    {Status::kTokenMalformed, "token_malformed", Action::kUnauthorized},
    {Status::kJwtHeaderInvalid, "jwt_header_invalid", Action::kUnauthorized},
    {Status::kJwtAlgNotAllowed, "jwt_alg_not_allowed", Action::kUnauthorized},
    {Status::kJwtKidMissing, "jwt_kid_missing", Action::kUnauthorized},
    {Status::kJwtTypInvalid, "jwt_typ_invalid", Action::kUnauthorized},
    {Status::kJwtCritPresent, "jwt_crit_present", Action::kUnauthorized},
    {Status::kJwtPayloadInvalid, "jwt_payload_invalid", Action::kUnauthorized},
    {Status::kJwtSignatureInvalid, "jwt_signature_invalid",
     Action::kUnauthorized},
    // The signature verified with the project's key: the token is Stytch's
    // own, so asking the API (as Stytch's SDKs do on any local failure)
    // cannot let a forgery reach Stytch.  An issuer we were not told of,
    // clock skew, or a claim shape we do not know, is Stytch's to judge.
    {Status::kClaimIssuerMismatch, "claim_issuer_mismatch", Action::kFallback},
    {Status::kClaimAudienceMismatch, "claim_audience_mismatch",
     Action::kFallback},
    {Status::kClaimInvalid, "claim_invalid", Action::kFallback},
    {Status::kClaimNotYetValid, "claim_not_yet_valid", Action::kFallback},
    {Status::kSessionClaimInvalid, "session_claim_invalid", Action::kFallback},
    // Only the API can tell whether these sessions are still alive.
    {Status::kJwtExpired, "jwt_expired", Action::kFallback},
    {Status::kJwtTooOld, "jwt_too_old", Action::kFallback},
    {Status::kJwksUnknownKid, "jwks_unknown_kid", Action::kFallback},
    {Status::kJwksNoKeys, "jwks_no_keys", Action::kFallback},
    // Outcomes of a refresh: Stytch handed us something unusable.
    {Status::kJwksInvalid, "jwks_invalid", Action::kUnavailable},
    {Status::kJwksNoUsableKey, "jwks_no_usable_key", Action::kUnavailable},
    {Status::kPolicyInvalid, "policy_invalid", Action::kUnavailable},
    {Status::kApiResponseInvalid, "api_response_invalid", Action::kUnavailable},
    {Status::kApiSessionNotFound, "api_session_not_found",
     Action::kUnauthorized},
    // unauthorized_credentials means our project secret is wrong, not the
    // user's session: a configuration error, so not a 401 to the client.
    {Status::kApiUnauthorized, "api_unauthorized", Action::kError},
    {Status::kApiForbidden, "api_forbidden", Action::kForbidden},
    {Status::kApiUnavailable, "api_unavailable", Action::kUnavailable},
    {Status::kPermissionDenied, "permission_denied", Action::kForbidden},
    {Status::kTenancyMismatch, "tenancy_mismatch", Action::kForbidden},
    {Status::kNoMemory, "no_memory", Action::kError},
    {Status::kInternalError, "internal_error", Action::kError},
    // The API can make neither kind of token into the other.
    {Status::kTokenKindNotAllowed, "token_kind_not_allowed",
     Action::kUnauthorized},
    {Status::kScopeMissing, "scope_missing", Action::kForbidden},
    // Our configuration, not the user's session: the log says which
    // directive (stytch_api_error_directive).
    {Status::kApiMisconfigured, "api_misconfigured", Action::kError},
    {Status::kApiRateLimited, "api_rate_limited", Action::kUnavailable},
    // stytch_api_rate: the module itself spares the project's quota.
    {Status::kApiCallsLimited, "api_calls_limited", Action::kUnavailable},
    // An identity that cannot go into a header as it is: nothing that
    // names the user may be dropped or changed on its way to upstream.
    {Status::kIdentityInvalid, "identity_invalid", Action::kUnauthorized},
    // Introspection: Stytch says the token is not an active access token.
    {Status::kApiTokenInactive, "api_token_inactive", Action::kUnauthorized},
};

static_assert(std::size(kTable) == static_cast<size_t>(kStatusCount),
              "every status needs exactly one row in kTable");

constexpr bool TableInOrder() {
  for (size_t i = 0; i < std::size(kTable); ++i) {
    if (static_cast<size_t>(kTable[i].status) != i) return false;
  }
  return true;
}
static_assert(TableInOrder(), "kTable rows must follow the enum order");

const StatusInfo* Find(Status status) {
  const int i = static_cast<int>(status);
  if (i < 0 || i >= kStatusCount) return nullptr;
  return &kTable[i];
}

}  // namespace

const char* StatusName(Status status) noexcept {
  const StatusInfo* info = Find(status);
  return info ? info->name : "unknown";
}

Action StatusAction(Status status) noexcept {
  const StatusInfo* info = Find(status);
  return info ? info->action : Action::kError;
}

}  // namespace stytch
