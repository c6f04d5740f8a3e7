// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "status.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "stytch_core.h"

namespace stytch {
namespace {

TEST(StatusTest, EveryStatusHasAUniqueSnakeCaseName) {
  std::set<std::string> names;
  for (int i = 0; i < STYTCH_STATUS_MAX; ++i) {
    const std::string name = StatusName(static_cast<Status>(i));
    EXPECT_NE(name, "unknown") << i;
    EXPECT_FALSE(name.empty()) << i;
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"),
              std::string::npos)
        << name;
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(STYTCH_STATUS_MAX));
}

TEST(StatusTest, EveryStatusHasAnAction) {
  for (int i = 0; i < STYTCH_STATUS_MAX; ++i) {
    const int a = static_cast<int>(StatusAction(static_cast<Status>(i)));
    EXPECT_GE(a, STYTCH_ACTION_ALLOW) << i;
    EXPECT_LE(a, STYTCH_ACTION_ERROR) << i;
    // Only success allows.
    EXPECT_EQ(a == STYTCH_ACTION_ALLOW, i == STYTCH_OK) << i;
  }
}

TEST(StatusTest, KnownNames) {
  EXPECT_STREQ(StatusName(Status::kOk), "ok");
  EXPECT_STREQ(StatusName(Status::kTokenMissing), "token_missing");
  EXPECT_STREQ(StatusName(Status::kJwtExpired), "jwt_expired");
  EXPECT_STREQ(StatusName(Status::kJwksUnknownKid), "jwks_unknown_kid");
  EXPECT_STREQ(StatusName(Status::kJwtSignatureInvalid),
               "jwt_signature_invalid");
  EXPECT_STREQ(StatusName(Status::kInternalError), "internal_error");
  EXPECT_STREQ(StatusName(Status::kApiUnauthorized), "api_unauthorized");
  EXPECT_STREQ(StatusName(Status::kApiSessionNotFound),
               "api_session_not_found");
  EXPECT_STREQ(StatusName(Status::kClaimIssuerMismatch),
               "claim_issuer_mismatch");
  EXPECT_STREQ(StatusName(Status::kTokenKindNotAllowed),
               "token_kind_not_allowed");
  EXPECT_STREQ(StatusName(Status::kScopeMissing), "scope_missing");
  EXPECT_STREQ(StatusName(Status::kApiMisconfigured), "api_misconfigured");
  EXPECT_STREQ(StatusName(Status::kApiRateLimited), "api_rate_limited");
}

// The values are stored in the shared API-result cache: statuses added
// later come after the first ones.
TEST(StatusTest, ValuesAreStable) {
  EXPECT_EQ(STYTCH_JWT_EXPIRED, 16);
  EXPECT_EQ(STYTCH_API_UNAUTHORIZED, 25);
  EXPECT_EQ(STYTCH_INTERNAL_ERROR, 31);
  EXPECT_EQ(STYTCH_TOKEN_KIND_NOT_ALLOWED, 32);
  EXPECT_EQ(STYTCH_SCOPE_MISSING, 33);
  EXPECT_EQ(STYTCH_API_MISCONFIGURED, 34);
  EXPECT_EQ(STYTCH_API_RATE_LIMITED, 35);
  EXPECT_EQ(STYTCH_API_CALLS_LIMITED, 36);
}

TEST(StatusTest, ActionsFollowTheDesign) {
  struct {
    Status s;
    Action a;
  } const cases[] = {
      {Status::kOk, Action::kAllow},
      {Status::kTokenMissing, Action::kUnauthorized},
      {Status::kTokenMalformed, Action::kUnauthorized},
      {Status::kJwtSignatureInvalid, Action::kUnauthorized},
      {Status::kJwtHeaderInvalid, Action::kUnauthorized},
      {Status::kJwtAlgNotAllowed, Action::kUnauthorized},
      {Status::kJwtKidMissing, Action::kUnauthorized},
      {Status::kJwtPayloadInvalid, Action::kUnauthorized},
      // After a good signature the token is Stytch's own: the API decides.
      {Status::kClaimIssuerMismatch, Action::kFallback},
      {Status::kClaimAudienceMismatch, Action::kFallback},
      {Status::kClaimInvalid, Action::kFallback},
      {Status::kClaimNotYetValid, Action::kFallback},
      {Status::kSessionClaimInvalid, Action::kFallback},
      {Status::kJwtExpired, Action::kFallback},
      {Status::kJwtTooOld, Action::kFallback},
      {Status::kJwksUnknownKid, Action::kFallback},
      {Status::kJwksNoKeys, Action::kFallback},
      {Status::kJwksInvalid, Action::kUnavailable},
      {Status::kJwksNoUsableKey, Action::kUnavailable},
      {Status::kPolicyInvalid, Action::kUnavailable},
      {Status::kApiResponseInvalid, Action::kUnavailable},
      {Status::kApiSessionNotFound, Action::kUnauthorized},
      {Status::kApiUnauthorized, Action::kError},
      {Status::kApiForbidden, Action::kForbidden},
      {Status::kApiUnavailable, Action::kUnavailable},
      {Status::kApiRateLimited, Action::kUnavailable},
      {Status::kApiCallsLimited, Action::kUnavailable},
      {Status::kApiMisconfigured, Action::kError},
      {Status::kTokenKindNotAllowed, Action::kUnauthorized},
      {Status::kScopeMissing, Action::kForbidden},
      {Status::kPermissionDenied, Action::kForbidden},
      {Status::kTenancyMismatch, Action::kForbidden},
      {Status::kNoMemory, Action::kError},
      {Status::kInternalError, Action::kError},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(StatusAction(c.s), c.a) << StatusName(c.s);
  }
}

TEST(StatusTest, OutOfRangeIsUnknownAndNeverAllows) {
  EXPECT_STREQ(StatusName(static_cast<Status>(-1)), "unknown");
  EXPECT_STREQ(StatusName(static_cast<Status>(STYTCH_STATUS_MAX)), "unknown");
  EXPECT_EQ(StatusAction(static_cast<Status>(STYTCH_STATUS_MAX)),
            Action::kError);
  EXPECT_EQ(StatusAction(static_cast<Status>(1000)), Action::kError);
}

TEST(StatusTest, CFacadeAgrees) {
  for (int i = 0; i < STYTCH_STATUS_MAX; ++i) {
    const auto s = static_cast<stytch_status_t>(i);
    EXPECT_STREQ(stytch_status_name(s), StatusName(static_cast<Status>(i)));
    EXPECT_EQ(static_cast<int>(stytch_status_action(s)),
              static_cast<int>(StatusAction(static_cast<Status>(i))));
  }
  EXPECT_STREQ(stytch_status_name(STYTCH_STATUS_MAX), "unknown");
}

}  // namespace
}  // namespace stytch
