// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// stytch_session_serialize / _deserialize: the API-result cache's format.

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "stytch_core.h"
#include "test_util.h"

namespace {

using stytch_test::CacheRoundTrip;
using stytch_test::Jwks;
using stytch_test::kIat;
using stytch_test::kProject;
using stytch_test::Token;

std::string Field(const stytch_session_t* s, stytch_field_t f) {
  size_t len = 0;
  const char* p = stytch_session_field(s, f, &len);
  return std::string(p, len);
}

std::string Serialize(const stytch_session_t* s) {
  const size_t need = stytch_session_serialize(s, nullptr, 0);
  EXPECT_GT(need, 0u);
  std::string buf(need, '\0');
  // Too small a buffer is left alone but still told the size.
  EXPECT_EQ(stytch_session_serialize(s, buf.data(), need - 1), need);
  EXPECT_EQ(buf, std::string(need, '\0'));
  EXPECT_EQ(stytch_session_serialize(s, buf.data(), need), need);
  return buf;
}

stytch_session_t* FromJwt(const std::string& name, unsigned kinds = 0) {
  stytch_verifier_conf_t conf = {};
  conf.project_id = kProject;
  conf.project_id_len = strlen(kProject);
  stytch_verifier_t* v = stytch_verifier_create(&conf);
  const std::string jwks = Jwks("good");
  EXPECT_EQ(stytch_verifier_set_jwks(v, jwks.data(), jwks.size(), nullptr),
            STYTCH_OK);
  const std::string token = Token(name);
  stytch_verify_params_t p = {kIat + 1, 0, -1, kinds};
  stytch_session_t* s = nullptr;
  EXPECT_EQ(
      stytch_verifier_verify(v, token.data(), token.size(), &p, &s, nullptr),
      STYTCH_OK);
  stytch_verifier_free(v);
  return s;
}

// Every field the cache keeps reads back the same.
void ExpectSameFields(const stytch_session_t* a, const stytch_session_t* b,
                      const std::string& what) {
  for (int f = 0; f < STYTCH_FIELD_MAX; ++f) {
    if (f == STYTCH_FIELD_SESSION_JWT || f == STYTCH_FIELD_SESSION_TOKEN) {
      continue;
    }
    EXPECT_EQ(Field(b, static_cast<stytch_field_t>(f)),
              Field(a, static_cast<stytch_field_t>(f)))
        << what << " " << f;
  }
  EXPECT_EQ(stytch_session_is_b2b(b), stytch_session_is_b2b(a)) << what;
  EXPECT_EQ(stytch_session_is_m2m(b), stytch_session_is_m2m(a)) << what;
  EXPECT_EQ(stytch_session_kind(b), stytch_session_kind(a)) << what;
  EXPECT_EQ(stytch_session_expires_at(b), stytch_session_expires_at(a)) << what;
  EXPECT_EQ(stytch_session_jwt_exp(b), stytch_session_jwt_exp(a)) << what;
  EXPECT_EQ(stytch_session_last_authenticated_at(b),
            stytch_session_last_authenticated_at(a))
      << what;
}

TEST(SessionCodecTest, JwtSessionRoundTrips) {
  for (const char* name : {"b2b", "factors", "consumer", "custom_claims"}) {
    stytch_session_t* s = FromJwt(name);
    ASSERT_NE(s, nullptr);
    (void)Serialize(s);  // the buffer protocol
    stytch_session_t* back = CacheRoundTrip(s);
    ASSERT_NE(back, nullptr) << name;
    ExpectSameFields(s, back, name);
    stytch_session_release(back);
    stytch_session_release(s);
  }
}

TEST(SessionCodecTest, B2bJwtSessionRoundTrips) {
  stytch_session_t* s = FromJwt("b2b");
  ASSERT_NE(s, nullptr);
  stytch_session_t* back = CacheRoundTrip(s);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(Field(back, STYTCH_FIELD_ISSUER),
            std::string("stytch.com/") + kProject);
  EXPECT_EQ(stytch_session_is_b2b(back), 1);
  EXPECT_EQ(stytch_session_has_role(back, "editor", 6), 1);
  size_t len = 0;
  const char* c = stytch_session_claim(back, "my_custom_claim", 15, &len);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(std::string(c, len), "value");
  stytch_session_release(back);
  stytch_session_release(s);
}

// The shared API-result cache keeps the session's details.
TEST(SessionCodecTest, DetailsRoundTrip) {
  const std::string body =
      R"({"member_session":{"member_session_id":"ms","member_id":"m",)"
      R"("organization_id":"o","authentication_factors":[)"
      R"({"type":"sso","delivery_method":"sso_saml",)"
      R"("last_authenticated_at":"2025-10-09T08:53:20Z",)"
      R"("saml_sso_factor":{"provider_id":"saml-connection-test-1"}},)"
      R"({"type":"otp","delivery_method":"sms",)"
      R"("last_authenticated_at":"2025-10-09T08:50:00Z"}],)"
      R"("attributes":{"ip_address":"203.0.113.9","user_agent":"UA/1"}},)"
      R"("session_jwt":"SECRET-JWT","session_token":"SECRET-TOKEN"})";
  stytch_session_t* s = nullptr;
  ASSERT_EQ(
      stytch_api_parse_authenticate(200, body.data(), body.size(), &s, nullptr),
      STYTCH_OK);
  const std::string text = Serialize(s);
  stytch_session_t* back = nullptr;
  ASSERT_EQ(stytch_session_deserialize(text.data(), text.size(), &back),
            STYTCH_OK);
  for (stytch_field_t f :
       {STYTCH_FIELD_FACTOR_TYPES, STYTCH_FIELD_DELIVERY_METHODS,
        STYTCH_FIELD_SSO_CONNECTION_IDS, STYTCH_FIELD_LAST_AUTHENTICATED_AT,
        STYTCH_FIELD_AUTH_FACTORS, STYTCH_FIELD_IP_ADDRESS,
        STYTCH_FIELD_USER_AGENT}) {
    EXPECT_EQ(Field(back, f), Field(s, f)) << f;
    EXPECT_NE(Field(back, f), "") << f;
  }
  EXPECT_EQ(Field(back, STYTCH_FIELD_SSO_CONNECTION_IDS),
            "saml-connection-test-1");
  EXPECT_EQ(stytch_session_last_authenticated_at(back), 1760000000);
  EXPECT_EQ(stytch_session_last_authenticated_at(s), 1760000000);
  EXPECT_EQ(text.find("SECRET"), std::string::npos) << text;
  stytch_session_release(back);
  stytch_session_release(s);
}

TEST(SessionCodecTest, M2mRoundTrips) {
  stytch_session_t* s = FromJwt("m2m", STYTCH_KIND_M2M);
  ASSERT_NE(s, nullptr);
  stytch_session_t* back = CacheRoundTrip(s);
  ASSERT_NE(back, nullptr);
  ExpectSameFields(s, back, "m2m");
  EXPECT_EQ(stytch_session_is_m2m(back), 1);
  EXPECT_EQ(Field(back, STYTCH_FIELD_SCOPES),
            "read:users read:books write:penguins");
  EXPECT_EQ(Field(back, STYTCH_FIELD_CUSTOM_CLAIMS),
            R"({"custom key":"custom value"})");
  EXPECT_EQ(stytch_scopes_check(back, "read:books", 10), STYTCH_OK);
  EXPECT_EQ(stytch_scopes_check(back, "write:books", 11), STYTCH_SCOPE_MISSING);
  stytch_session_release(back);
  stytch_session_release(s);
}

// An OAuth token keeps its kind, its client id apart from its subject,
// and its organization, from a JWT and from an introspection answer.
TEST(SessionCodecTest, OAuthRoundTrips) {
  stytch_session_t* jwt = FromJwt("oauth_b2b", STYTCH_KIND_OAUTH);
  ASSERT_NE(jwt, nullptr);
  const std::string body =
      R"({"active":true,"sub":"user-test-1","client_id":"connected-app-1",)"
      R"("scope":"openid read:documents","exp":1760000300,"iat":1760000000,)"
      R"("token_type":"access_token","plan":"pro","request_id":"r"})";
  stytch_session_t* answer = nullptr;
  ASSERT_EQ(stytch_api_parse_introspection(200, body.data(), body.size(),
                                           &answer, nullptr),
            STYTCH_OK);
  for (stytch_session_t* s : {jwt, answer}) {
    stytch_session_t* back = CacheRoundTrip(s);
    ASSERT_NE(back, nullptr);
    ExpectSameFields(s, back, Field(s, STYTCH_FIELD_SUBJECT));
    EXPECT_EQ(stytch_session_kind(back), STYTCH_KIND_OAUTH);
    EXPECT_EQ(stytch_session_is_m2m(back), 0);
    EXPECT_EQ(stytch_scopes_check(back, "read:documents", 14), STYTCH_OK);
    EXPECT_EQ(stytch_scopes_check(back, "read:*", 6), STYTCH_SCOPE_MISSING);
    stytch_session_release(back);
  }
  EXPECT_EQ(Field(jwt, STYTCH_FIELD_CLIENT_ID),
            "connected-app-test-d731954d-dab3-4a2b-bdee-07f3ad1be888");
  EXPECT_EQ(Field(jwt, STYTCH_FIELD_ORGANIZATION_ID),
            "organization-test-33333333-3333-3333-3333-333333333333");
  EXPECT_EQ(Field(answer, STYTCH_FIELD_CLIENT_ID), "connected-app-1");
  EXPECT_EQ(Field(answer, STYTCH_FIELD_CUSTOM_CLAIMS), R"({"plan":"pro"})");
  stytch_session_release(answer);
  stytch_session_release(jwt);
}

// Entries written before the kind was kept say "m2m" only.
TEST(SessionCodecTest, EntriesWithoutKind) {
  stytch_session_t* s = nullptr;
  const std::string m2m = R"({"sub":"m2m-client-1","scope":"a","m2m":true})";
  ASSERT_EQ(stytch_session_deserialize(m2m.data(), m2m.size(), &s), STYTCH_OK);
  EXPECT_EQ(stytch_session_kind(s), STYTCH_KIND_M2M);
  EXPECT_EQ(Field(s, STYTCH_FIELD_CLIENT_ID), "m2m-client-1");
  stytch_session_release(s);
  const std::string user = R"({"sub":"u","session_id":"s","kind":99})";
  ASSERT_EQ(stytch_session_deserialize(user.data(), user.size(), &s),
            STYTCH_OK);
  EXPECT_EQ(stytch_session_kind(s), STYTCH_KIND_SESSION);
  stytch_session_release(s);
}

TEST(SessionCodecTest, CredentialsAreNeverSerialized) {
  const std::string body =
      R"({"session":{"session_id":"s1","user_id":"u1"},)"
      R"("session_jwt":"SECRET-JWT","session_token":"SECRET-TOKEN"})";
  stytch_session_t* s = nullptr;
  ASSERT_EQ(
      stytch_api_parse_authenticate(200, body.data(), body.size(), &s, nullptr),
      STYTCH_OK);
  const std::string text = Serialize(s);
  EXPECT_EQ(text.find("SECRET"), std::string::npos) << text;
  stytch_session_t* back = nullptr;
  ASSERT_EQ(stytch_session_deserialize(text.data(), text.size(), &back),
            STYTCH_OK);
  EXPECT_EQ(Field(back, STYTCH_FIELD_SESSION_ID), "s1");
  EXPECT_EQ(Field(back, STYTCH_FIELD_SESSION_TOKEN), "");
  EXPECT_EQ(stytch_session_is_b2b(back), 0);
  stytch_session_release(back);
  stytch_session_release(s);
}

TEST(SessionCodecTest, WhatCannotBeReadBackIsNotWritten) {
  const std::string body =
      R"({"session":{"session_id":"s1","user_id":"u1","custom_claims":)"
      R"({"big":")" +
      std::string(70000, 'x') + R"("}}})";
  stytch_session_t* s = nullptr;
  ASSERT_EQ(
      stytch_api_parse_authenticate(200, body.data(), body.size(), &s, nullptr),
      STYTCH_OK);
  EXPECT_EQ(stytch_session_serialize(s, nullptr, 0), 0u);
  stytch_session_release(s);
}

TEST(SessionCodecTest, GarbageIsRefused) {
  stytch_session_t* s = reinterpret_cast<stytch_session_t*>(1);
  EXPECT_NE(stytch_session_deserialize("nope", 4, &s), STYTCH_OK);
  EXPECT_EQ(s, nullptr);
  EXPECT_NE(stytch_session_deserialize(nullptr, 0, &s), STYTCH_OK);
  EXPECT_NE(stytch_session_deserialize("{}", 2, nullptr), STYTCH_OK);
  EXPECT_EQ(stytch_session_serialize(nullptr, nullptr, 0), 0u);
}

}  // namespace
