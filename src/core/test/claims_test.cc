// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "claims.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "jwt.h"
#include "test_util.h"

namespace stytch {
namespace {

using stytch_test::kExp;
using stytch_test::kIat;
using stytch_test::kProject;

// Payloads go through the same parser as in the verifier.
std::unique_ptr<JwtPayload> Json(const std::string& text) {
  std::unique_ptr<JwtPayload> p;
  EXPECT_EQ(ParseJwtPayloadJson(text, &p), Status::kOk) << text;
  return p;
}

const std::string kIssuer = std::string("stytch.com/") + kProject;

TEST(ClaimsTest, TrimTrailingSlashes) {
  EXPECT_EQ(TrimTrailingSlashes("https://a.example//"), "https://a.example");
  EXPECT_EQ(TrimTrailingSlashes("https://a.example"), "https://a.example");
  EXPECT_EQ(TrimTrailingSlashes("///"), "");
}

TEST(ClaimsTest, DefaultIssuers) {
  const Issuers accepted =
      Issuers::Default(kProject, "https://auth.example.com//");
  auto check = [&](const std::string& iss_json) {
    return CheckIssuer(Json("{\"iss\":" + iss_json + "}")->doc, accepted);
  };
  EXPECT_EQ(check("\"" + kIssuer + "\""), Status::kOk);
  EXPECT_EQ(check("\"https://auth.example.com\""), Status::kOk);
  // As the SDKs compare: only the configured URL is trimmed.
  EXPECT_EQ(check("\"https://auth.example.com/\""),
            Status::kClaimIssuerMismatch);
  EXPECT_EQ(check("\"stytch.com/project-test-other\""),
            Status::kClaimIssuerMismatch);
  EXPECT_EQ(check("\"" + kIssuer + "x\""), Status::kClaimIssuerMismatch);
  EXPECT_EQ(check("[\"" + kIssuer + "\"]"), Status::kClaimIssuerMismatch);
  EXPECT_EQ(check("null"), Status::kClaimIssuerMismatch);
  EXPECT_EQ(CheckIssuer(Json("{}")->doc, accepted),
            Status::kClaimIssuerMismatch);
  // No base URL configured: an empty iss must not match it.
  EXPECT_EQ(
      CheckIssuer(Json(R"({"iss":""})")->doc, Issuers::Default(kProject, "")),
      Status::kClaimIssuerMismatch);
  EXPECT_EQ(CheckIssuer(Json(R"({"iss":"/"})")->doc,
                        Issuers::Default(kProject, "///")),
            Status::kClaimIssuerMismatch);
}

TEST(ClaimsTest, ExplicitIssuers) {
  const Issuers accepted =
      Issuers::Explicit({"https://auth.example.com/", "https://b.example"});
  auto check = [&](const std::string& iss) {
    return CheckIssuer(Json("{\"iss\":\"" + iss + "\"}")->doc, accepted);
  };
  // Trailing slashes trimmed on both sides.
  EXPECT_EQ(check("https://auth.example.com"), Status::kOk);
  EXPECT_EQ(check("https://auth.example.com/"), Status::kOk);
  EXPECT_EQ(check("https://auth.example.com///"), Status::kOk);
  EXPECT_EQ(check("https://b.example/"), Status::kOk);
  // Exactly the list: Stytch's default issuer is not in it.
  EXPECT_EQ(check(kIssuer), Status::kClaimIssuerMismatch);
  EXPECT_EQ(check("https://auth.example.co"), Status::kClaimIssuerMismatch);
  EXPECT_EQ(check("HTTPS://auth.example.com"), Status::kClaimIssuerMismatch);
  EXPECT_EQ(check("https://auth.example.com/x"), Status::kClaimIssuerMismatch);
  // Entries that trim to nothing accept nothing, not an empty iss.
  const Issuers blank = Issuers::Explicit({"", "/"});
  for (const char* iss : {R"({"iss":""})", R"({"iss":"/"})", "{}"}) {
    EXPECT_EQ(CheckIssuer(Json(iss)->doc, blank), Status::kClaimIssuerMismatch)
        << iss;
  }
}

TEST(ClaimsTest, Audience) {
  auto check = [&](const std::string& aud_json) {
    return CheckAudience(Json("{\"aud\":" + aud_json + "}")->doc, kProject);
  };
  const std::string p = std::string("\"") + kProject + "\"";
  EXPECT_EQ(check(p), Status::kOk);
  EXPECT_EQ(check("[" + p + "]"), Status::kOk);
  EXPECT_EQ(check("[\"other\"," + p + "]"), Status::kOk);
  EXPECT_EQ(check("[]"), Status::kClaimAudienceMismatch);
  EXPECT_EQ(check("[\"other\"]"), Status::kClaimAudienceMismatch);
  EXPECT_EQ(check("\"other\""), Status::kClaimAudienceMismatch);
  EXPECT_EQ(check("[[" + p + "]]"), Status::kClaimAudienceMismatch);
  EXPECT_EQ(check("{\"a\":" + p + "}"), Status::kClaimAudienceMismatch);
  EXPECT_EQ(check("null"), Status::kClaimAudienceMismatch);
  EXPECT_EQ(CheckAudience(Json("{}")->doc, kProject),
            Status::kClaimAudienceMismatch);
}

TEST(ClaimsTest, TimeClaimTypes) {
  TimeClaims t;
  EXPECT_EQ(ReadTimeClaims(Json(R"({"exp":10,"nbf":5,"iat":4})")->doc, &t),
            Status::kOk);
  EXPECT_EQ(t.exp, 10);
  EXPECT_TRUE(t.has_nbf);
  EXPECT_TRUE(t.has_iat);
  EXPECT_EQ(ReadTimeClaims(Json(R"({"exp":10})")->doc, &t), Status::kOk);
  EXPECT_FALSE(t.has_nbf);
  EXPECT_FALSE(t.has_iat);

  for (const char* bad :
       {R"({})", R"({"exp":"10"})", R"({"exp":10.5})", R"({"exp":1e30})",
        R"({"exp":10.0})", R"({"exp":null})", R"({"exp":true})",
        R"({"exp":10,"nbf":"5"})", R"({"exp":10,"iat":4.5})",
        R"({"exp":10,"iat":[4]})"}) {
    EXPECT_EQ(ReadTimeClaims(Json(bad)->doc, &t), Status::kClaimInvalid) << bad;
  }
  // Beyond int64 the whole payload is refused.
  std::unique_ptr<JwtPayload> p;
  EXPECT_EQ(ParseJwtPayloadJson(R"({"exp":99999999999999999999})", &p),
            Status::kJwtPayloadInvalid);
}

TimeClaims Times(int64_t exp, int64_t nbf, int64_t iat) {
  TimeClaims t;
  t.exp = exp;
  t.nbf = nbf;
  t.iat = iat;
  t.has_nbf = t.has_iat = true;
  return t;
}

VerifyParams At(int64_t now, int64_t leeway = 0, int64_t max_age = -1) {
  VerifyParams p;
  p.now = now;
  p.leeway = leeway;
  p.max_token_age = max_age;
  return p;
}

TEST(ClaimsTest, ExpiryBoundaries) {
  const TimeClaims t = Times(kExp, kIat, kIat);
  EXPECT_EQ(CheckFreshness(t, At(kExp - 1)), Status::kOk);
  EXPECT_EQ(CheckFreshness(t, At(kExp)), Status::kJwtExpired);
  EXPECT_EQ(CheckFreshness(t, At(kExp + 1)), Status::kJwtExpired);
  // With leeway L: valid while now < exp + L.
  EXPECT_EQ(CheckFreshness(t, At(kExp + 9, 10)), Status::kOk);
  EXPECT_EQ(CheckFreshness(t, At(kExp + 10, 10)), Status::kJwtExpired);
  EXPECT_EQ(CheckFreshness(t, At(kExp + 11, 10)), Status::kJwtExpired);
  // A negative leeway is no leeway, not a shorter life.
  EXPECT_EQ(CheckFreshness(t, At(kExp - 1, -100)), Status::kOk);
}

TEST(ClaimsTest, NotBeforeBoundaries) {
  const TimeClaims t = Times(kExp, kIat + 100, kIat);
  EXPECT_EQ(CheckNotBefore(t, At(kIat + 99)), Status::kClaimNotYetValid);
  EXPECT_EQ(CheckNotBefore(t, At(kIat + 100)), Status::kOk);
  EXPECT_EQ(CheckNotBefore(t, At(kIat + 101)), Status::kOk);
  EXPECT_EQ(CheckNotBefore(t, At(kIat + 89, 10)), Status::kClaimNotYetValid);
  EXPECT_EQ(CheckNotBefore(t, At(kIat + 90, 10)), Status::kOk);
  EXPECT_EQ(CheckNotBefore(t, At(kIat + 91, 10)), Status::kOk);
}

TEST(ClaimsTest, IssuedInTheFuture) {
  TimeClaims t = Times(kExp, 0, kIat + 100);
  t.has_nbf = false;
  EXPECT_EQ(CheckNotBefore(t, At(kIat + 99)), Status::kClaimNotYetValid);
  EXPECT_EQ(CheckNotBefore(t, At(kIat + 100)), Status::kOk);
  EXPECT_EQ(CheckNotBefore(t, At(kIat + 95, 5)), Status::kOk);
  EXPECT_EQ(CheckNotBefore(t, At(kIat + 94, 5)), Status::kClaimNotYetValid);
}

TEST(ClaimsTest, MaxTokenAge) {
  const TimeClaims t = Times(kExp, kIat, kIat);
  EXPECT_EQ(CheckFreshness(t, At(kIat + 59, 0, 60)), Status::kOk);
  EXPECT_EQ(CheckFreshness(t, At(kIat + 60, 0, 60)), Status::kJwtTooOld);
  EXPECT_EQ(CheckFreshness(t, At(kIat + 61, 0, 60)), Status::kJwtTooOld);
  // 0: every token is too old, even one issued this second.
  EXPECT_EQ(CheckFreshness(t, At(kIat, 0, 0)), Status::kJwtTooOld);
  // Negative: no limit.
  EXPECT_EQ(CheckFreshness(t, At(kIat + 299, 0, -1)), Status::kOk);
  // Expiry wins over age: both fall back, but expired says more.
  EXPECT_EQ(CheckFreshness(t, At(kExp, 0, 60)), Status::kJwtExpired);
  // No iat with a max age: the age is unknowable.
  TimeClaims no_iat = t;
  no_iat.has_iat = false;
  EXPECT_EQ(CheckFreshness(no_iat, At(kIat + 1, 0, 60)), Status::kClaimInvalid);
  EXPECT_EQ(CheckFreshness(no_iat, At(kIat + 1, 0, -1)), Status::kOk);
}

TEST(ClaimsTest, ExtremeValuesDoNotOverflow) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  // exp at INT64_MAX plus a leeway must not wrap into the past.
  EXPECT_EQ(CheckFreshness(Times(kMax, kIat, kIat), At(kIat, kMax)),
            Status::kOk);
  EXPECT_EQ(CheckFreshness(Times(kMin, kIat, kIat), At(kIat, 10)),
            Status::kJwtExpired);
  // iat far in the past with a max age: too old, not a negative age.
  EXPECT_EQ(CheckFreshness(Times(kMax, kIat, kMin), At(kIat, 0, 60)),
            Status::kJwtTooOld);
  EXPECT_EQ(CheckNotBefore(Times(kMax, kMax, kIat), At(kIat, kMax)),
            Status::kOk);
  EXPECT_EQ(CheckNotBefore(Times(kMax, kMax, kIat), At(kIat, 0)),
            Status::kClaimNotYetValid);
}

}  // namespace
}  // namespace stytch
