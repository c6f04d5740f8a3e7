// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "session.h"

#include <gtest/gtest.h>

#include <string>

#include "base64url.h"
#include "jwt.h"
#include "test_util.h"

namespace stytch {
namespace {

using stytch_test::kExp;
using stytch_test::Token;

// The payload of a fixture token, as the verifier hands it on.
std::unique_ptr<JwtPayload> PayloadOf(const std::string& name) {
  const std::string token = Token(name);  // seg points into it
  JwsSegments seg;
  EXPECT_EQ(SplitJws(token, &seg), Status::kOk);
  std::unique_ptr<JwtPayload> p;
  EXPECT_EQ(ParseJwtPayload(seg.payload, &p), Status::kOk);
  return p;
}

Status Build(std::unique_ptr<JwtPayload> payload, Ref<Session>* out) {
  return SessionFromJwtPayload(std::move(payload), kExp, out);
}

Status BuildText(const std::string& json, Ref<Session>* out) {
  std::unique_ptr<JwtPayload> p;
  EXPECT_EQ(ParseJwtPayloadJson(json, &p), Status::kOk) << json;
  return Build(std::move(p), out);
}

std::string F(const Session& s, stytch_field_t f) {
  return std::string(s.Field(f));
}

TEST(SessionTest, Consumer) {
  Ref<Session> s;
  ASSERT_EQ(Build(PayloadOf("consumer"), &s), Status::kOk);
  EXPECT_EQ(F(*s, STYTCH_FIELD_SUBJECT),
            "user-test-828132d7-efc0-4951-87ec-8d9328ea1c2e");
  EXPECT_EQ(F(*s, STYTCH_FIELD_SESSION_ID),
            "session-test-6f36c0f1-1d03-4afb-ac80-9cb231c7cba9");
  EXPECT_EQ(F(*s, STYTCH_FIELD_STARTED_AT), "2025-10-09T08:53:20Z");
  EXPECT_EQ(F(*s, STYTCH_FIELD_LAST_ACCESSED_AT), "2025-10-09T08:53:20Z");
  EXPECT_EQ(F(*s, STYTCH_FIELD_EXPIRES_AT), "2025-10-09T09:53:20Z");
  EXPECT_EQ(s->expires_at(), 1760003600);
  EXPECT_EQ(s->jwt_exp(), kExp);
  EXPECT_EQ(F(*s, STYTCH_FIELD_ROLES), "stytch_user");
  EXPECT_TRUE(s->HasRole("stytch_user"));
  EXPECT_FALSE(s->HasRole("stytch_use"));
  EXPECT_FALSE(s->is_b2b());
  EXPECT_EQ(F(*s, STYTCH_FIELD_ORGANIZATION_ID), "");
  EXPECT_EQ(F(*s, STYTCH_FIELD_CUSTOM_CLAIMS), "{}");
  EXPECT_EQ(F(*s, STYTCH_FIELD_SESSION_JWT), "");
  EXPECT_EQ(F(*s, STYTCH_FIELD_SESSION_TOKEN), "");
  EXPECT_EQ(F(*s, STYTCH_FIELD_MAX), "");
}

TEST(SessionTest, B2b) {
  Ref<Session> s;
  ASSERT_EQ(Build(PayloadOf("b2b"), &s), Status::kOk);
  EXPECT_TRUE(s->is_b2b());
  EXPECT_EQ(F(*s, STYTCH_FIELD_SUBJECT),
            "member-test-11111111-1111-1111-1111-111111111111");
  EXPECT_EQ(F(*s, STYTCH_FIELD_ORGANIZATION_ID),
            "organization-test-33333333-3333-3333-3333-333333333333");
  EXPECT_EQ(F(*s, STYTCH_FIELD_ORGANIZATION_SLUG), "acme");
  EXPECT_EQ(F(*s, STYTCH_FIELD_ROLES), "stytch_member,editor");
  EXPECT_EQ(F(*s, STYTCH_FIELD_CUSTOM_CLAIMS),
            R"({"my_custom_claim":"value"})");
  EXPECT_EQ(s->Claim("my_custom_claim").value(), "value");
}

TEST(SessionTest, CustomClaims) {
  Ref<Session> s;
  ASSERT_EQ(Build(PayloadOf("custom_claims"), &s), Status::kOk);
  // Sorted, compact, without registered claims (jti included) or any
  // https://stytch.com/ claim.
  EXPECT_EQ(F(*s, STYTCH_FIELD_CUSTOM_CLAIMS),
            R"({"email":"user@example.com","reference_id":"ref-42",)"
            R"("zeta":{"a":true,"b":[1,2]}})");
  EXPECT_EQ(s->Claim("email").value(), "user@example.com");
  EXPECT_EQ(s->Claim("zeta").value(), R"({"a":true,"b":[1,2]})");
  // Asking twice gives the same stable text.
  EXPECT_EQ(s->Claim("zeta")->data(), s->Claim("zeta")->data());
  for (const char* reserved :
       {"aud", "exp", "iat", "iss", "jti", "nbf", "sub",
        "https://stytch.com/session", "https://stytch.com/future"}) {
    EXPECT_FALSE(s->Claim(reserved)) << reserved;
  }
  EXPECT_FALSE(s->Claim("absent"));
}

TEST(SessionTest, MissingRolesIsEmpty) {
  Ref<Session> s;
  ASSERT_EQ(Build(PayloadOf("no_roles"), &s), Status::kOk);
  EXPECT_TRUE(s->roles().empty());
  EXPECT_EQ(F(*s, STYTCH_FIELD_ROLES), "");
  // No expires_at in the claim: it comes from exp.
  EXPECT_EQ(F(*s, STYTCH_FIELD_EXPIRES_AT), "2025-10-09T08:58:20Z");
  EXPECT_EQ(s->expires_at(), kExp);
}

TEST(SessionTest, InvalidSessionClaims) {
  Ref<Session> s;
  for (const char* name : {"roles_not_strings", "session_missing",
                           "session_no_id", "session_bad_time"}) {
    EXPECT_EQ(Build(PayloadOf(name), &s), Status::kSessionClaimInvalid) << name;
  }
  const char* base = R"({"sub":"u","https://stytch.com/session":)";
  for (const char* claim :
       {R"("s")", R"({"id":""})", R"({"id":5})", R"({"id":"s","roles":"a"})",
        R"({"id":"s","roles":{}})", R"({"id":"s","started_at":5})",
        R"({"id":"s","expires_at":"tomorrow"})"}) {
    EXPECT_EQ(BuildText(base + std::string(claim) + "}", &s),
              Status::kSessionClaimInvalid)
        << claim;
  }
  EXPECT_EQ(BuildText(std::string(base) + R"({"id":"s","roles":null}})", &s),
            Status::kOk);
}

TEST(SessionTest, InvalidOrganizationClaim) {
  Ref<Session> s;
  const std::string base =
      R"({"sub":"u","https://stytch.com/session":{"id":"s"},)"
      R"("https://stytch.com/organization":)";
  for (const char* org :
       {R"("org")", R"({})", R"({"organization_id":""})",
        R"({"organization_id":7})", R"({"organization_id":"o","slug":3})"}) {
    EXPECT_EQ(BuildText(base + org + "}", &s), Status::kSessionClaimInvalid)
        << org;
  }
  ASSERT_EQ(BuildText(base + R"({"organization_id":"o"}})", &s), Status::kOk);
  EXPECT_TRUE(s->is_b2b());
  EXPECT_EQ(F(*s, STYTCH_FIELD_ORGANIZATION_SLUG), "");
}

// A payload that is no valid session still says, for logs, what it could.
TEST(SessionTest, InvalidPayloadGivesWhatItCould) {
  Ref<Session> s;
  EXPECT_EQ(
      BuildText(R"({"sub":"u","iss":"i","https://stytch.com/session":)"
                R"({"id":"s","roles":[1],"started_at":"2025-10-09T08:53:20Z"},)"
                R"("https://stytch.com/organization":{"organization_id":"o"}})",
                &s),
      Status::kSessionClaimInvalid);
  ASSERT_TRUE(s);
  EXPECT_EQ(F(*s, STYTCH_FIELD_SUBJECT), "u");
  EXPECT_EQ(F(*s, STYTCH_FIELD_ISSUER), "i");
  EXPECT_EQ(F(*s, STYTCH_FIELD_SESSION_ID), "s");
  EXPECT_EQ(F(*s, STYTCH_FIELD_STARTED_AT), "");
  EXPECT_EQ(F(*s, STYTCH_FIELD_ORGANIZATION_ID), "");
  EXPECT_EQ(F(*s, STYTCH_FIELD_CUSTOM_CLAIMS), "{}");
  EXPECT_TRUE(s->roles().empty());
  EXPECT_EQ(s->jwt_exp(), kExp);

  s = Ref<Session>();
  EXPECT_EQ(
      BuildText(R"({"sub":7,"iss":[1],"https://stytch.com/session":5})", &s),
      Status::kClaimInvalid);
  ASSERT_TRUE(s);
  EXPECT_EQ(F(*s, STYTCH_FIELD_SUBJECT), "");
  EXPECT_EQ(F(*s, STYTCH_FIELD_ISSUER), "");
  EXPECT_EQ(F(*s, STYTCH_FIELD_SESSION_ID), "");
}

TEST(SessionTest, SubjectRequired) {
  Ref<Session> s;
  EXPECT_EQ(BuildText(R"({"https://stytch.com/session":{"id":"s"}})", &s),
            Status::kClaimInvalid);
  EXPECT_EQ(
      BuildText(R"({"sub":1,"https://stytch.com/session":{"id":"s"}})", &s),
      Status::kClaimInvalid);
}

TEST(SessionTest, M2m) {
  Ref<Session> s;
  ASSERT_EQ(Build(PayloadOf("m2m"), &s), Status::kOk);
  EXPECT_TRUE(s->is_m2m());
  EXPECT_FALSE(s->is_b2b());
  EXPECT_EQ(F(*s, STYTCH_FIELD_SUBJECT),
            "m2m-client-test-00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(F(*s, STYTCH_FIELD_CLIENT_ID), F(*s, STYTCH_FIELD_SUBJECT));
  EXPECT_EQ(F(*s, STYTCH_FIELD_SCOPES), "read:users read:books write:penguins");
  EXPECT_EQ(F(*s, STYTCH_FIELD_SESSION_ID), "");
  EXPECT_EQ(F(*s, STYTCH_FIELD_ROLES), "");
  EXPECT_EQ(F(*s, STYTCH_FIELD_EXPIRES_AT), "2025-10-09T08:58:20Z");
  EXPECT_EQ(s->expires_at(), kExp);
  // As stytch-node's authenticateToken: the custom claims are the others,
  // without the registered claims and scope.
  EXPECT_EQ(F(*s, STYTCH_FIELD_CUSTOM_CLAIMS),
            R"({"custom key":"custom value"})");
  EXPECT_EQ(s->Claim("custom key").value(), "custom value");
  EXPECT_FALSE(s->Claim("scope"));
  EXPECT_FALSE(s->Claim("sub"));
}

TEST(SessionTest, SessionTokensHaveNoClientId) {
  Ref<Session> s;
  ASSERT_EQ(Build(PayloadOf("consumer"), &s), Status::kOk);
  EXPECT_FALSE(s->is_m2m());
  EXPECT_EQ(F(*s, STYTCH_FIELD_CLIENT_ID), "");
  EXPECT_EQ(F(*s, STYTCH_FIELD_SCOPES), "");
}

TEST(SessionTest, M2mNeedsASubject) {
  Ref<Session> s;
  EXPECT_EQ(BuildText(R"({"scope":"a"})", &s), Status::kClaimInvalid);
  EXPECT_TRUE(s->is_m2m());
  EXPECT_EQ(BuildText(R"({"sub":"","scope":"a"})", &s), Status::kClaimInvalid);
  EXPECT_EQ(BuildText(R"({"sub":"c","scope":"a"})", &s), Status::kOk);
  EXPECT_EQ(F(*s, STYTCH_FIELD_EXPIRES_AT), "2025-10-09T08:58:20Z");
}

TEST(SessionTest, DetailsOfAConsumerJwt) {
  Ref<Session> s;
  ASSERT_EQ(Build(PayloadOf("consumer"), &s), Status::kOk);
  EXPECT_EQ(F(*s, STYTCH_FIELD_FACTOR_TYPES), "otp");
  EXPECT_EQ(F(*s, STYTCH_FIELD_DELIVERY_METHODS), "email");
  EXPECT_EQ(F(*s, STYTCH_FIELD_SSO_CONNECTION_IDS), "");
  EXPECT_EQ(F(*s, STYTCH_FIELD_LAST_AUTHENTICATED_AT), "2025-10-09T08:53:20Z");
  EXPECT_EQ(s->last_authenticated_at(), stytch_test::kIat);
  EXPECT_EQ(F(*s, STYTCH_FIELD_AUTH_FACTORS),
            R"([{"delivery_method":"email",)"
            R"("last_authenticated_at":"2025-10-09T08:53:20Z","type":"otp"}])");
  EXPECT_EQ(F(*s, STYTCH_FIELD_IP_ADDRESS), "203.0.113.7");
  EXPECT_EQ(F(*s, STYTCH_FIELD_USER_AGENT), "curl/8.0");
}

TEST(SessionTest, DetailsOfSeveralFactors) {
  Ref<Session> s;
  ASSERT_EQ(Build(PayloadOf("factors"), &s), Status::kOk);
  // Distinct, in order; entries that are no factor add nothing.
  EXPECT_EQ(F(*s, STYTCH_FIELD_FACTOR_TYPES), "magic_link,sso");
  EXPECT_EQ(F(*s, STYTCH_FIELD_DELIVERY_METHODS), "email,sso_saml,sso_oidc");
  EXPECT_EQ(F(*s, STYTCH_FIELD_SSO_CONNECTION_IDS),
            "saml-connection-test-1,oidc-connection-test-2");
  // The latest of the readable times, as Stytch wrote it.
  EXPECT_EQ(F(*s, STYTCH_FIELD_LAST_AUTHENTICATED_AT), "2025-10-09T08:53:20Z");
  EXPECT_EQ(s->last_authenticated_at(), stytch_test::kIat);
  EXPECT_EQ(F(*s, STYTCH_FIELD_IP_ADDRESS), "2001:db8::7");
  EXPECT_EQ(F(*s, STYTCH_FIELD_USER_AGENT), "Mozilla/5.0 (X11)");
  JsonPtr factors = JsonParse(F(*s, STYTCH_FIELD_AUTH_FACTORS), 1 << 16);
  ASSERT_TRUE(json_is_array(factors.get()));
  EXPECT_EQ(json_array_size(factors.get()), 6u);
  EXPECT_EQ(F(*s, STYTCH_FIELD_AUTH_FACTORS).find("\": "), std::string::npos);
  EXPECT_EQ(F(*s, STYTCH_FIELD_AUTH_FACTORS).find(", "), std::string::npos);
  EXPECT_NE(F(*s, STYTCH_FIELD_AUTH_FACTORS)
                .find(R"("provider_id":"oidc-connection-test-2")"),
            std::string::npos);
}

TEST(SessionTest, NoDetails) {
  Ref<Session> s;
  for (const char* name : {"no_roles", "m2m"}) {
    ASSERT_EQ(Build(PayloadOf(name), &s), Status::kOk) << name;
    for (stytch_field_t f :
         {STYTCH_FIELD_FACTOR_TYPES, STYTCH_FIELD_DELIVERY_METHODS,
          STYTCH_FIELD_SSO_CONNECTION_IDS, STYTCH_FIELD_LAST_AUTHENTICATED_AT,
          STYTCH_FIELD_IP_ADDRESS, STYTCH_FIELD_USER_AGENT}) {
      EXPECT_EQ(F(*s, f), "") << name << " " << f;
    }
    EXPECT_EQ(F(*s, STYTCH_FIELD_AUTH_FACTORS), "[]") << name;
    EXPECT_EQ(s->last_authenticated_at(), 0) << name;
  }
  // Factors and attributes of the wrong shape are no details.
  ASSERT_EQ(BuildText(R"({"sub":"u","https://stytch.com/session":{"id":"s",)"
                      R"("authentication_factors":{"type":"otp"},)"
                      R"("attributes":["1.2.3.4"]}})",
                      &s),
            Status::kOk);
  EXPECT_EQ(F(*s, STYTCH_FIELD_FACTOR_TYPES), "");
  EXPECT_EQ(F(*s, STYTCH_FIELD_AUTH_FACTORS), "[]");
  EXPECT_EQ(F(*s, STYTCH_FIELD_IP_ADDRESS), "");
  ASSERT_EQ(BuildText(R"({"sub":"u","https://stytch.com/session":{"id":"s",)"
                      R"("authentication_factors":[{"type":"otp",)"
                      R"("saml_sso_factor":{"provider_id":7},)"
                      R"("oidc_sso_factor":"x"}],)"
                      R"("attributes":{"ip_address":1,"user_agent":null}}})",
                      &s),
            Status::kOk);
  EXPECT_EQ(F(*s, STYTCH_FIELD_FACTOR_TYPES), "otp");
  EXPECT_EQ(F(*s, STYTCH_FIELD_SSO_CONNECTION_IDS), "");
  EXPECT_EQ(F(*s, STYTCH_FIELD_IP_ADDRESS), "");
  EXPECT_EQ(F(*s, STYTCH_FIELD_USER_AGENT), "");
}

TEST(SessionTest, ReferenceCounting) {
  Ref<Session> s;
  ASSERT_EQ(Build(PayloadOf("consumer"), &s), Status::kOk);
  EXPECT_EQ(s->RefCountForTesting(), 1u);
  {
    Ref<Session> copy = s;
    EXPECT_EQ(s->RefCountForTesting(), 2u);
  }
  EXPECT_EQ(s->RefCountForTesting(), 1u);
}

TEST(SessionTest, ReservedClaimNames) {
  EXPECT_TRUE(IsReservedClaim("sub"));
  EXPECT_TRUE(IsReservedClaim("https://stytch.com/anything"));
  EXPECT_FALSE(IsReservedClaim("https://stytch.co"));
  EXPECT_FALSE(IsReservedClaim("subject"));
  EXPECT_FALSE(IsReservedClaim("email"));
}

}  // namespace
}  // namespace stytch
