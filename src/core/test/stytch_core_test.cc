// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The C facade, used as the NGINX glue uses it.

#include "stytch_core.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using stytch_test::Jwks;
using stytch_test::kExp;
using stytch_test::kIat;
using stytch_test::kProject;
using stytch_test::Token;

struct Log {
  std::vector<std::string> lines;
  static void Fn(void* ctx, int, const char* msg, size_t len) {
    static_cast<Log*>(ctx)->lines.emplace_back(msg, len);
  }
};

class FacadeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string url = "https://test.stytch.com";
    stytch_verifier_conf_t conf = {};
    conf.project_id = kProject;
    conf.project_id_len = strlen(kProject);
    conf.api_url = url.data();
    conf.api_url_len = url.size();
    conf.cache_size = 8;
    conf.log = &Log::Fn;
    conf.log_ctx = &log_;
    v_ = stytch_verifier_create(&conf);
    ASSERT_NE(v_, nullptr);
  }
  void TearDown() override { stytch_verifier_free(v_); }

  stytch_status_t Verify(const std::string& token, int64_t now = kIat + 10,
                         stytch_session_t** s = nullptr,
                         int* cached = nullptr) {
    stytch_verify_params_t p = {now, 0, -1, 0};
    stytch_session_t* tmp = nullptr;
    const stytch_status_t st = stytch_verifier_verify(
        v_, token.data(), token.size(), &p, s ? s : &tmp, cached);
    if (s == nullptr) stytch_session_release(tmp);
    return st;
  }

  Log log_;
  stytch_verifier_t* v_ = nullptr;
};

std::string Field(const stytch_session_t* s, stytch_field_t f) {
  size_t len = 12345;
  const char* p = stytch_session_field(s, f, &len);
  EXPECT_NE(p, nullptr);
  EXPECT_EQ(strlen(p), len) << "field must be a C string of len bytes";
  return std::string(p, len);
}

TEST_F(FacadeTest, NoKeysThenKeys) {
  EXPECT_EQ(stytch_verifier_has_keys(v_), 0);
  EXPECT_EQ(Verify(Token("consumer")), STYTCH_JWKS_NO_KEYS);
  const std::string jwks = Jwks("mixed");
  size_t n = 0;
  ASSERT_EQ(stytch_verifier_set_jwks(v_, jwks.data(), jwks.size(), &n),
            STYTCH_OK);
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(stytch_verifier_has_keys(v_), 1);
  EXPECT_FALSE(log_.lines.empty()) << "refused keys are logged";
}

TEST_F(FacadeTest, VerifyAndReadSession) {
  const std::string jwks = Jwks("good");
  ASSERT_EQ(stytch_verifier_set_jwks(v_, jwks.data(), jwks.size(), nullptr),
            STYTCH_OK);
  stytch_session_t* s = nullptr;
  int cached = -1;
  ASSERT_EQ(Verify(Token("b2b"), kIat + 10, &s, &cached), STYTCH_OK);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(cached, 0);
  EXPECT_EQ(Field(s, STYTCH_FIELD_SUBJECT),
            "member-test-11111111-1111-1111-1111-111111111111");
  EXPECT_EQ(Field(s, STYTCH_FIELD_ROLES), "stytch_member,editor");
  EXPECT_EQ(Field(s, STYTCH_FIELD_ORGANIZATION_SLUG), "acme");
  EXPECT_EQ(Field(s, STYTCH_FIELD_CUSTOM_CLAIMS),
            R"({"my_custom_claim":"value"})");
  EXPECT_EQ(Field(s, STYTCH_FIELD_SESSION_JWT), "");
  EXPECT_EQ(Field(s, STYTCH_FIELD_MAX), "");
  EXPECT_EQ(stytch_session_is_b2b(s), 1);
  EXPECT_EQ(stytch_session_has_role(s, "editor", 6), 1);
  EXPECT_EQ(stytch_session_has_role(s, "edit", 4), 0);
  EXPECT_EQ(stytch_session_jwt_exp(s), kExp);
  EXPECT_EQ(stytch_session_expires_at(s), 1760003600);
  size_t len = 0;
  const char* c = stytch_session_claim(s, "my_custom_claim", 15, &len);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(std::string(c, len), "value");
  EXPECT_EQ(stytch_session_claim(s, "sub", 3, &len), nullptr);
  EXPECT_EQ(stytch_session_claim(s, "nope", 4, &len), nullptr);

  // The cache shares the session: a second verify returns the same object
  // with its own reference.
  stytch_session_t* s2 = nullptr;
  ASSERT_EQ(Verify(Token("b2b"), kIat + 10, &s2, &cached), STYTCH_OK);
  EXPECT_EQ(cached, 1);
  EXPECT_EQ(s2, s);
  EXPECT_EQ(stytch_session_retain(s2), s2);
  stytch_session_release(s2);
  stytch_session_release(s2);
  stytch_verifier_free(v_);  // drops the cache's reference
  v_ = nullptr;
  EXPECT_EQ(Field(s, STYTCH_FIELD_ORGANIZATION_SLUG), "acme");
  stytch_session_release(s);
}

TEST(FacadeIssuersTest, ExplicitList) {
  const std::string jwks = Jwks("good");
  const std::string custom = "https://auth.example.com/";
  // Not NUL-terminated where the length ends.
  const std::string padded = std::string("stytch.com/") + kProject + "XYZ";
  const stytch_str_t issuers[] = {{custom.data(), custom.size()},
                                  {padded.data(), padded.size() - 3}};
  for (size_t n : {0, 1, 2}) {
    stytch_verifier_conf_t conf = {};
    conf.project_id = kProject;
    conf.project_id_len = strlen(kProject);
    conf.issuers = n ? issuers : nullptr;
    conf.nissuers = n;
    stytch_verifier_t* v = stytch_verifier_create(&conf);
    ASSERT_NE(v, nullptr);
    ASSERT_EQ(stytch_verifier_set_jwks(v, jwks.data(), jwks.size(), nullptr),
              STYTCH_OK);
    auto verify = [&](const char* name) {
      const std::string t = Token(name);
      stytch_verify_params_t p = {};
      p.now = kIat + 10;
      p.max_token_age = -1;
      stytch_session_t* s = nullptr;
      const stytch_status_t st =
          stytch_verifier_verify(v, t.data(), t.size(), &p, &s, nullptr);
      stytch_session_release(s);
      return st;
    };
    // 0: today's pair (no api_url here: only stytch.com/<project_id>).
    EXPECT_EQ(verify("consumer"),
              n == 1 ? STYTCH_CLAIM_ISSUER_MISMATCH : STYTCH_OK)
        << n;
    EXPECT_EQ(verify("custom_domain_iss"),
              n == 0 ? STYTCH_CLAIM_ISSUER_MISMATCH : STYTCH_OK)
        << n;
    stytch_verifier_free(v);
  }
}

TEST_F(FacadeTest, SessionOnlyAfterTheSignature) {
  const std::string jwks = Jwks("good");
  ASSERT_EQ(stytch_verifier_set_jwks(v_, jwks.data(), jwks.size(), nullptr),
            STYTCH_OK);
  stytch_session_t* s = reinterpret_cast<stytch_session_t*>(1);
  EXPECT_EQ(Verify(Token("rogue_signed"), kIat + 10, &s),
            STYTCH_JWT_SIGNATURE_INVALID);
  EXPECT_EQ(s, nullptr);
  EXPECT_EQ(stytch_status_action(STYTCH_JWT_SIGNATURE_INVALID),
            STYTCH_ACTION_UNAUTHORIZED);
  EXPECT_EQ(Verify(Token("consumer"), kExp, &s), STYTCH_JWT_EXPIRED);
  EXPECT_NE(s, nullptr);
  stytch_session_release(s);
  s = nullptr;
  EXPECT_EQ(Verify(Token("wrong_iss"), kIat + 10, &s),
            STYTCH_CLAIM_ISSUER_MISMATCH);
  EXPECT_EQ(stytch_status_action(STYTCH_CLAIM_ISSUER_MISMATCH),
            STYTCH_ACTION_FALLBACK);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(Field(s, STYTCH_FIELD_ISSUER), "stytch.com/project-test-other");
  stytch_session_release(s);
}

TEST_F(FacadeTest, NullArguments) {
  stytch_verify_params_t p = {kIat, 0, -1, 0};
  stytch_session_t* s = nullptr;
  EXPECT_EQ(stytch_verifier_verify(v_, nullptr, 0, &p, &s, nullptr),
            STYTCH_TOKEN_MISSING);
  EXPECT_EQ(stytch_verifier_verify(nullptr, "a", 1, &p, &s, nullptr),
            STYTCH_INTERNAL_ERROR);
  EXPECT_EQ(stytch_verifier_verify(v_, "a", 1, nullptr, &s, nullptr),
            STYTCH_INTERNAL_ERROR);
  EXPECT_EQ(stytch_verifier_create(nullptr), nullptr);
  EXPECT_EQ(stytch_verifier_has_keys(nullptr), 0);
  EXPECT_EQ(stytch_verifier_set_jwks(nullptr, "{}", 2, nullptr),
            STYTCH_INTERNAL_ERROR);
  EXPECT_EQ(stytch_verifier_set_jwks(v_, nullptr, 0, nullptr),
            STYTCH_JWKS_INVALID);
  stytch_verifier_free(nullptr);
  stytch_session_release(nullptr);
  EXPECT_EQ(stytch_session_retain(nullptr), nullptr);
  size_t len = 7;
  EXPECT_STREQ(stytch_session_field(nullptr, STYTCH_FIELD_SUBJECT, &len), "");
  EXPECT_EQ(len, 0u);
  EXPECT_EQ(stytch_session_claim(nullptr, "a", 1, &len), nullptr);
  EXPECT_EQ(stytch_session_is_b2b(nullptr), 0);
  EXPECT_EQ(stytch_session_expires_at(nullptr), 0);
  EXPECT_EQ(stytch_policy_parse(nullptr, 0, nullptr), nullptr);
  stytch_policy_free(nullptr);
}

TEST_F(FacadeTest, M2mTokensAndScopes) {
  const std::string jwks = Jwks("good");
  ASSERT_EQ(stytch_verifier_set_jwks(v_, jwks.data(), jwks.size(), nullptr),
            STYTCH_OK);
  const std::string token = Token("m2m");
  stytch_verify_params_t p = {};
  p.now = kIat + 10;
  p.max_token_age = -1;
  stytch_session_t* s = nullptr;
  // A zeroed kinds is today's: session tokens only.
  EXPECT_EQ(
      stytch_verifier_verify(v_, token.data(), token.size(), &p, &s, nullptr),
      STYTCH_TOKEN_KIND_NOT_ALLOWED);
  EXPECT_EQ(stytch_status_action(STYTCH_TOKEN_KIND_NOT_ALLOWED),
            STYTCH_ACTION_UNAUTHORIZED);
  EXPECT_STREQ(stytch_status_name(STYTCH_TOKEN_KIND_NOT_ALLOWED),
               "token_kind_not_allowed");
  stytch_session_release(s);

  p.kinds = STYTCH_KIND_M2M;
  ASSERT_EQ(
      stytch_verifier_verify(v_, token.data(), token.size(), &p, &s, nullptr),
      STYTCH_OK);
  EXPECT_EQ(stytch_session_is_m2m(s), 1);
  EXPECT_EQ(stytch_session_is_b2b(s), 0);
  EXPECT_EQ(Field(s, STYTCH_FIELD_CLIENT_ID),
            "m2m-client-test-00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(Field(s, STYTCH_FIELD_SCOPES),
            "read:users read:books write:penguins");
  EXPECT_EQ(Field(s, STYTCH_FIELD_CUSTOM_CLAIMS),
            R"({"custom key":"custom value"})");
  size_t len = 0;
  EXPECT_EQ(stytch_session_claim(s, "scope", 5, &len), nullptr);
  EXPECT_EQ(stytch_scopes_check(s, "write:penguins", 14), STYTCH_OK);
  EXPECT_EQ(stytch_scopes_check(s, "read:users write:penguins", 25), STYTCH_OK);
  // The length counts, not a NUL.
  EXPECT_EQ(stytch_scopes_check(s, "read:usersXYZ", 10), STYTCH_OK);
  EXPECT_EQ(stytch_scopes_check(s, "write:giraffes", 14), STYTCH_SCOPE_MISSING);
  EXPECT_EQ(stytch_status_action(STYTCH_SCOPE_MISSING),
            STYTCH_ACTION_FORBIDDEN);
  EXPECT_STREQ(stytch_status_name(STYTCH_SCOPE_MISSING), "scope_missing");
  EXPECT_EQ(stytch_scopes_check(s, nullptr, 0), STYTCH_OK);
  EXPECT_EQ(stytch_scopes_check(nullptr, "a", 1), STYTCH_INTERNAL_ERROR);
  stytch_session_release(s);

  const std::string user = Token("consumer");
  s = nullptr;
  EXPECT_EQ(
      stytch_verifier_verify(v_, user.data(), user.size(), &p, &s, nullptr),
      STYTCH_TOKEN_KIND_NOT_ALLOWED);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(stytch_session_is_m2m(s), 0);
  EXPECT_EQ(Field(s, STYTCH_FIELD_CLIENT_ID), "");
  EXPECT_EQ(stytch_scopes_check(s, "read", 4), STYTCH_SCOPE_MISSING);
  stytch_session_release(s);
  EXPECT_EQ(stytch_session_is_m2m(nullptr), 0);
}

// No byte a header value must not hold: CR and LF would end the header
// that proxy_set_header writes, NUL would end it early.
bool HeaderSafe(const char* p, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    const unsigned char c = static_cast<unsigned char>(p[i]);
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

void ExpectHeaderSafe(const stytch_session_t* s,
                      std::initializer_list<const char*> claims) {
  for (int f = 0; f <= STYTCH_FIELD_MAX; ++f) {
    size_t len = 0;
    const char* p =
        stytch_session_field(s, static_cast<stytch_field_t>(f), &len);
    EXPECT_TRUE(HeaderSafe(p, len)) << f << ": " << std::string(p, len);
  }
  for (const char* name : claims) {
    size_t len = 0;
    const char* p = stytch_session_claim(s, name, strlen(name), &len);
    if (p != nullptr) {
      EXPECT_TRUE(HeaderSafe(p, len)) << name << ": " << std::string(p, len);
    }
  }
}

TEST_F(FacadeTest, HostileJwtValuesAreSafeInHeaders) {
  const std::string jwks = Jwks("good");
  ASSERT_EQ(stytch_verifier_set_jwks(v_, jwks.data(), jwks.size(), nullptr),
            STYTCH_OK);
  stytch_session_t* s = nullptr;
  ASSERT_EQ(Verify(Token("hostile"), kIat + 10, &s), STYTCH_OK);
  ExpectHeaderSafe(s, {"email", "nested", "plain", "sub", "absent"});
  // A raw string with such a byte is given as empty...
  EXPECT_EQ(Field(s, STYTCH_FIELD_SUBJECT), "");
  EXPECT_EQ(Field(s, STYTCH_FIELD_SESSION_ID), "");
  EXPECT_EQ(Field(s, STYTCH_FIELD_ROLES), "");
  EXPECT_EQ(Field(s, STYTCH_FIELD_ORGANIZATION_ID), "");
  EXPECT_EQ(Field(s, STYTCH_FIELD_ORGANIZATION_SLUG), "");
  EXPECT_EQ(Field(s, STYTCH_FIELD_IP_ADDRESS), "");
  EXPECT_EQ(Field(s, STYTCH_FIELD_USER_AGENT), "");
  EXPECT_EQ(Field(s, STYTCH_FIELD_FACTOR_TYPES), "");
  EXPECT_EQ(Field(s, STYTCH_FIELD_DELIVERY_METHODS), "");
  EXPECT_EQ(Field(s, STYTCH_FIELD_SSO_CONNECTION_IDS), "");
  size_t len = 99;
  const char* email = stytch_session_claim(s, "email", 5, &len);
  ASSERT_NE(email, nullptr);  // present, but empty
  EXPECT_EQ(len, 0u);
  // ... the rest stays as it is ...
  EXPECT_EQ(Field(s, STYTCH_FIELD_STARTED_AT), "2025-10-09T08:53:20Z");
  EXPECT_EQ(Field(s, STYTCH_FIELD_LAST_AUTHENTICATED_AT),
            "2025-10-09T08:53:20Z");
  const char* plain = stytch_session_claim(s, "plain", 5, &len);
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(std::string(plain, len), "fine");
  // ... and JSON text is escaped, DEL included.
  const char* nested = stytch_session_claim(s, "nested", 6, &len);
  ASSERT_NE(nested, nullptr);
  EXPECT_EQ(std::string(nested, len),
            R"({"del":"\u007f","k":"v\r\nX-Injected: 1"})");
  const std::string claims = Field(s, STYTCH_FIELD_CUSTOM_CLAIMS);
  EXPECT_NE(claims.find(R"("email":"a\r\n@example.com")"), std::string::npos)
      << claims;
  const std::string factors = Field(s, STYTCH_FIELD_AUTH_FACTORS);
  EXPECT_NE(factors.find(R"("delivery_method":"email\u007f")"),
            std::string::npos)
      << factors;
  EXPECT_NE(factors.find(R"("email_address":"a\u007f\u007f\n@example.com")"),
            std::string::npos)
      << factors;
  // RBAC still sees the roles as they are: only what leaves is guarded.
  EXPECT_EQ(stytch_session_has_role(s, "stytch_user", 11), 1);
  stytch_session_release(s);

  s = nullptr;
  stytch_verify_params_t p = {kIat + 10, 0, -1, STYTCH_KIND_M2M};
  const std::string m2m = Token("hostile_m2m");
  ASSERT_EQ(stytch_verifier_verify(v_, m2m.data(), m2m.size(), &p, &s, nullptr),
            STYTCH_OK);
  ExpectHeaderSafe(s, {"custom key", "scope"});
  EXPECT_EQ(Field(s, STYTCH_FIELD_SCOPES), "");
  EXPECT_EQ(Field(s, STYTCH_FIELD_CUSTOM_CLAIMS),
            R"({"custom key":"x\u007fy"})");
  stytch_session_release(s);

  s = nullptr;
  EXPECT_EQ(Verify(Token("hostile_iss"), kIat + 10, &s),
            STYTCH_CLAIM_ISSUER_MISMATCH);
  ASSERT_NE(s, nullptr);
  ExpectHeaderSafe(s, {});
  EXPECT_EQ(Field(s, STYTCH_FIELD_ISSUER), "");
  stytch_session_release(s);
}

TEST_F(FacadeTest, AudienceOfTheJwt) {
  const std::string jwks = Jwks("good");
  ASSERT_EQ(stytch_verifier_set_jwks(v_, jwks.data(), jwks.size(), nullptr),
            STYTCH_OK);
  for (const char* name : {"oauth", "aud_string"}) {
    const std::string token = Token(name);
    stytch_verify_params_t p = {kIat + 10, 0, -1,
                                STYTCH_KIND_SESSION | STYTCH_KIND_OAUTH};
    stytch_session_t* s = nullptr;
    ASSERT_EQ(stytch_verifier_verify(v_, token.data(), token.size(), &p, &s,
                                     nullptr),
              STYTCH_OK)
        << name;
    EXPECT_EQ(stytch_session_has_audience(s, kProject, strlen(kProject)), 1)
        << name;
    EXPECT_EQ(stytch_session_has_audience(s, kProject, strlen(kProject) - 1),
              0)
        << name;
    EXPECT_EQ(stytch_session_has_audience(s, "https://api.example.com/mcp",
                                          27),
              0)
        << name;
    stytch_session_release(s);
  }
  EXPECT_EQ(stytch_session_has_audience(nullptr, kProject, strlen(kProject)),
            0);
}

TEST_F(FacadeTest, OAuthTokensScopesAndPolicy) {
  const std::string jwks = Jwks("good");
  ASSERT_EQ(stytch_verifier_set_jwks(v_, jwks.data(), jwks.size(), nullptr),
            STYTCH_OK);
  const std::string token = Token("oauth_b2b");
  stytch_verify_params_t p = {kIat + 10, 0, -1,
                              STYTCH_KIND_SESSION | STYTCH_KIND_M2M};
  stytch_session_t* s = nullptr;
  EXPECT_EQ(
      stytch_verifier_verify(v_, token.data(), token.size(), &p, &s, nullptr),
      STYTCH_TOKEN_KIND_NOT_ALLOWED);
  EXPECT_EQ(stytch_session_kind(s), STYTCH_KIND_OAUTH);
  stytch_session_release(s);

  p.kinds = STYTCH_KIND_OAUTH;
  p.max_token_age = 0;  // session JWTs only
  ASSERT_EQ(
      stytch_verifier_verify(v_, token.data(), token.size(), &p, &s, nullptr),
      STYTCH_OK);
  EXPECT_EQ(stytch_session_kind(s), STYTCH_KIND_OAUTH);
  EXPECT_EQ(stytch_session_is_m2m(s), 0);
  EXPECT_EQ(stytch_session_is_b2b(s), 1);
  EXPECT_EQ(stytch_session_identity_safe(s), 1);
  EXPECT_EQ(Field(s, STYTCH_FIELD_SUBJECT),
            "member-test-32fc5024-9c09-4da3-bd2e-c9ce4da9375f");
  EXPECT_EQ(Field(s, STYTCH_FIELD_CLIENT_ID),
            "connected-app-test-d731954d-dab3-4a2b-bdee-07f3ad1be888");
  EXPECT_EQ(stytch_scopes_check(s, "openid email", 12), STYTCH_OK);
  EXPECT_EQ(stytch_scopes_check(s, "profile", 7), STYTCH_SCOPE_MISSING);

  const std::string policy =
      R"({"policy":{"roles":[],"scopes":[{"scope":"read:documents",)"
      R"("permissions":[{"resource_id":"documents","actions":["read"]}]}]}})";
  stytch_status_t st;
  stytch_policy_t* pol = stytch_policy_parse(policy.data(), policy.size(), &st);
  ASSERT_NE(pol, nullptr);
  const char kOrg[] = "organization-test-33333333-3333-3333-3333-333333333333";
  EXPECT_EQ(stytch_policy_check(pol, s, "documents", 9, "read", 4, kOrg,
                                strlen(kOrg)),
            STYTCH_OK);
  EXPECT_EQ(stytch_policy_check(pol, s, "documents", 9, "write", 5, kOrg,
                                strlen(kOrg)),
            STYTCH_PERMISSION_DENIED);
  EXPECT_EQ(stytch_policy_check(pol, s, "documents", 9, "read", 4, "org-x", 5),
            STYTCH_TENANCY_MISMATCH);
  stytch_policy_free(pol);
  stytch_session_release(s);
  EXPECT_EQ(stytch_session_kind(nullptr), 0);
}

TEST_F(FacadeTest, HostileOAuthTokenIsNoSafeIdentity) {
  const std::string jwks = Jwks("good");
  ASSERT_EQ(stytch_verifier_set_jwks(v_, jwks.data(), jwks.size(), nullptr),
            STYTCH_OK);
  const std::string token = Token("hostile_oauth");
  stytch_verify_params_t p = {kIat + 10, 0, -1, STYTCH_KIND_OAUTH};
  stytch_session_t* s = nullptr;
  ASSERT_EQ(
      stytch_verifier_verify(v_, token.data(), token.size(), &p, &s, nullptr),
      STYTCH_OK);
  ExpectHeaderSafe(s, {"custom key", "scope", "client_id"});
  // The client id would reach a header empty: the caller refuses it.
  EXPECT_EQ(stytch_session_identity_safe(s), 0);
  EXPECT_EQ(Field(s, STYTCH_FIELD_CLIENT_ID), "");
  EXPECT_EQ(Field(s, STYTCH_FIELD_SCOPES), "");
  stytch_session_release(s);
}

TEST(FacadeApiTest, Introspection) {
  const std::string body =
      R"({"active":true,"sub":"user-test-1","client_id":"connected-app-1",)"
      R"("scope":"openid","exp":1760000300,"token_type":"access_token"})";
  stytch_session_t* s = nullptr;
  stytch_api_error_t err;
  ASSERT_EQ(
      stytch_api_parse_introspection(200, body.data(), body.size(), &s, &err),
      STYTCH_OK);
  EXPECT_EQ(err.status_code, 200);
  EXPECT_EQ(stytch_session_kind(s), STYTCH_KIND_OAUTH);
  EXPECT_EQ(stytch_session_expires_at(s), 1760000300);
  EXPECT_EQ(Field(s, STYTCH_FIELD_SUBJECT), "user-test-1");
  stytch_session_release(s);

  s = reinterpret_cast<stytch_session_t*>(1);
  const std::string inactive = R"({"active":false})";
  EXPECT_EQ(stytch_api_parse_introspection(200, inactive.data(),
                                           inactive.size(), &s, nullptr),
            STYTCH_API_TOKEN_INACTIVE);
  EXPECT_EQ(s, nullptr);
  EXPECT_STREQ(stytch_status_name(STYTCH_API_TOKEN_INACTIVE),
               "api_token_inactive");
  EXPECT_EQ(stytch_status_action(STYTCH_API_TOKEN_INACTIVE),
            STYTCH_ACTION_UNAUTHORIZED);
  const std::string error = R"({"error":"invalid_token"})";
  EXPECT_EQ(
      stytch_api_parse_introspection(401, error.data(), error.size(), &s, &err),
      STYTCH_API_SESSION_NOT_FOUND);
  EXPECT_STREQ(err.error_type, "invalid_token");
  EXPECT_EQ(stytch_api_parse_introspection(200, body.data(), body.size(),
                                           nullptr, nullptr),
            STYTCH_INTERNAL_ERROR);
  EXPECT_EQ(stytch_api_parse_introspection(200, nullptr, 0, &s, nullptr),
            STYTCH_API_RESPONSE_INVALID);
}

TEST(FacadeApiTest, HostileAnswersAreSafeInHeaders) {
  const std::string evil = "\\r\\nSet-Cookie: a=b";
  const std::string bodies[] = {
      R"({"session":{"session_id":"s1)" + evil + R"(","user_id":"u1)" + evil +
          R"(","started_at":"2025-10-09T08:53:20Z\u0001",)"
          R"("expires_at":"2025-10-09T09:53:20Z","roles":["r\u007f"],)"
          R"("attributes":{"ip_address":"1.2.3.4\n","user_agent":"UA)"
          "\x7f"
          R"("},)"
          R"("authentication_factors":[{"type":"otp)" +
          evil +
          R"("}],)"
          R"("custom_claims":{"plan":"pro)" +
          evil +
          R"(","ok":"yes",)"
          R"("raw":")"
          "\x7f"
          R"("}},"session_jwt":"j)" +
          evil + R"(","session_token":"t\t"})",
      R"({"member_session":{"member_session_id":"ms\u001f",)"
      R"("member_id":"m)"
      "\x7f"
      R"(","organization_id":"o)" +
          evil +
          R"("},)"
          R"("organization":{"organization_slug":"acme)" +
          evil +
          R"("},)"
          R"("session_jwt":"","session_token":""})",
  };
  for (const std::string& body : bodies) {
    stytch_session_t* s = nullptr;
    const stytch_status_t st = stytch_api_parse_authenticate(
        200, body.data(), body.size(), &s, nullptr);
    if (st != STYTCH_OK) {
      // Refusing the answer is safe too, but these must parse.
      ADD_FAILURE() << stytch_status_name(st) << " " << body;
      continue;
    }
    ExpectHeaderSafe(s, {"plan", "ok", "raw"});
    EXPECT_EQ(Field(s, STYTCH_FIELD_SUBJECT), "");
    EXPECT_EQ(Field(s, STYTCH_FIELD_SESSION_ID), "");
    size_t len = 0;
    const char* ok = stytch_session_claim(s, "ok", 2, &len);
    if (!stytch_session_is_b2b(s)) {
      ASSERT_NE(ok, nullptr);
      EXPECT_EQ(std::string(ok, len), "yes");
      EXPECT_EQ(Field(s, STYTCH_FIELD_SESSION_JWT), "");
      EXPECT_EQ(Field(s, STYTCH_FIELD_SESSION_TOKEN), "");
      EXPECT_EQ(Field(s, STYTCH_FIELD_ROLES), "");
      EXPECT_EQ(Field(s, STYTCH_FIELD_USER_AGENT), "");
    } else {
      EXPECT_EQ(Field(s, STYTCH_FIELD_ORGANIZATION_ID), "");
      EXPECT_EQ(Field(s, STYTCH_FIELD_ORGANIZATION_SLUG), "");
    }
    // The cache's copy is as safe.
    stytch_session_t* back = stytch_test::CacheRoundTrip(s);
    ASSERT_NE(back, nullptr);
    ExpectHeaderSafe(back, {"plan", "ok", "raw"});
    stytch_session_release(back);
    stytch_session_release(s);
  }
}

TEST(FacadeApiTest, ErrorTextIsPrintable) {
  const std::string body =
      R"({"error_type":"session_not_found\r\nX: y",)"
      R"("error_message":"Session\ncould not\u0001 be found)"
      "\x7f"
      R"("})";
  stytch_session_t* s = nullptr;
  stytch_api_error_t err;
  stytch_api_parse_authenticate(404, body.data(), body.size(), &s, &err);
  EXPECT_TRUE(HeaderSafe(err.error_type, strlen(err.error_type)))
      << err.error_type;
  EXPECT_TRUE(HeaderSafe(err.error_message, strlen(err.error_message)))
      << err.error_message;
}

TEST(FacadeApiTest, Authenticate) {
  const std::string body =
      R"({"session":{"session_id":"s1","user_id":"u1","roles":["r"],)"
      R"("expires_at":"2025-10-09T09:53:20Z"},"session_jwt":"j",)"
      R"("session_token":"t"})";
  stytch_session_t* s = nullptr;
  stytch_api_error_t err;
  ASSERT_EQ(
      stytch_api_parse_authenticate(200, body.data(), body.size(), &s, &err),
      STYTCH_OK);
  EXPECT_EQ(Field(s, STYTCH_FIELD_SESSION_ID), "s1");
  EXPECT_EQ(Field(s, STYTCH_FIELD_SESSION_TOKEN), "t");
  EXPECT_EQ(stytch_session_expires_at(s), 1760003600);
  stytch_session_release(s);

  const std::string e404 =
      R"({"status_code":404,"error_type":"session_not_found",)"
      R"("error_message":"Session could not be found."})";
  s = reinterpret_cast<stytch_session_t*>(1);
  EXPECT_EQ(
      stytch_api_parse_authenticate(404, e404.data(), e404.size(), &s, &err),
      STYTCH_API_SESSION_NOT_FOUND);
  EXPECT_EQ(s, nullptr);
  EXPECT_STREQ(err.error_type, "session_not_found");
  EXPECT_EQ(stytch_api_parse_authenticate(200, "{}", 2, &s, nullptr),
            STYTCH_API_RESPONSE_INVALID);
}

TEST(FacadePolicyTest, ParseAddCheck) {
  const std::string policy =
      R"({"policy":{"roles":[{"role_id":"editor","permissions":[)"
      R"({"resource_id":"documents","actions":["read"]}]}]}})";
  const std::string org =
      R"({"org_policy":{"roles":[{"role_id":"editor","permissions":[)"
      R"({"resource_id":"documents","actions":["write"]}]}]}})";
  stytch_status_t st = STYTCH_INTERNAL_ERROR;
  stytch_policy_t* p = stytch_policy_parse(policy.data(), policy.size(), &st);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(st, STYTCH_OK);
  EXPECT_EQ(stytch_policy_parse("{}", 2, &st), nullptr);
  EXPECT_EQ(st, STYTCH_POLICY_INVALID);

  stytch_verifier_conf_t conf = {};
  conf.project_id = kProject;
  conf.project_id_len = strlen(kProject);
  stytch_verifier_t* v = stytch_verifier_create(&conf);
  const std::string jwks = Jwks("good");
  ASSERT_EQ(stytch_verifier_set_jwks(v, jwks.data(), jwks.size(), nullptr),
            STYTCH_OK);
  const std::string token = Token("b2b");
  stytch_verify_params_t params = {kIat + 1, 0, -1, 0};
  stytch_session_t* s = nullptr;
  ASSERT_EQ(stytch_verifier_verify(v, token.data(), token.size(), &params, &s,
                                   nullptr),
            STYTCH_OK);
  const char* org_id = "organization-test-33333333-3333-3333-3333-333333333333";
  EXPECT_EQ(stytch_policy_check(p, s, "documents", 9, "read", 4, org_id,
                                strlen(org_id)),
            STYTCH_OK);
  EXPECT_EQ(stytch_policy_check(p, s, "documents", 9, "write", 5, org_id,
                                strlen(org_id)),
            STYTCH_PERMISSION_DENIED);
  EXPECT_EQ(stytch_policy_check(p, s, "documents", 9, "read", 4, "org-x", 5),
            STYTCH_TENANCY_MISMATCH);
  EXPECT_EQ(stytch_policy_check(p, s, "documents", 9, "read", 4, nullptr, 0),
            STYTCH_OK);
  ASSERT_EQ(stytch_policy_add_org(p, org.data(), org.size()), STYTCH_OK);
  EXPECT_EQ(stytch_policy_check(p, s, "documents", 9, "write", 5, org_id,
                                strlen(org_id)),
            STYTCH_OK);
  EXPECT_EQ(stytch_policy_add_org(p, "x", 1), STYTCH_POLICY_INVALID);
  stytch_session_release(s);
  stytch_verifier_free(v);
  stytch_policy_free(p);
}

}  // namespace

// U+2028, U+2029 and the C1 controls (NEL) end lines for some parsers and
// loggers: no value gives them, JSON text escapes them, and an identity
// with one of them is not safe.
TEST(FacadeApiTest, LineSeparatorsAreSafeInHeaders) {
  const std::string body =
      R"({"session":{"session_id":"s1","user_id":"u1\u2028X-Injected: 1",)"
      R"("roles":["r"],"custom_claims":{"plan":"pro\u2029",)"
      R"("nel":"a\u0085b","ok":"caf\u00e9","deep":{"k":"v\u2028\u0085"}}},)"
      R"("session_jwt":"","session_token":""})";
  stytch_session_t* s = nullptr;
  ASSERT_EQ(stytch_api_parse_authenticate(200, body.data(), body.size(), &s,
                                          nullptr),
            STYTCH_OK);
  EXPECT_EQ(stytch_session_identity_safe(s), 0);
  EXPECT_EQ(Field(s, STYTCH_FIELD_SUBJECT), "");
  size_t len = 99;
  const char* plan = stytch_session_claim(s, "plan", 4, &len);
  ASSERT_NE(plan, nullptr);
  EXPECT_EQ(len, 0u);
  const char* nel = stytch_session_claim(s, "nel", 3, &len);
  ASSERT_NE(nel, nullptr);
  EXPECT_EQ(len, 0u);
  const char* ok = stytch_session_claim(s, "ok", 2, &len);
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ(std::string(ok, len), "caf\xc3\xa9");  // other UTF-8 stays
  const char* deep = stytch_session_claim(s, "deep", 4, &len);
  ASSERT_NE(deep, nullptr);
  EXPECT_EQ(std::string(deep, len), R"({"k":"v\u2028\u0085"})");
  const std::string claims = Field(s, STYTCH_FIELD_CUSTOM_CLAIMS);
  EXPECT_NE(claims.find(R"("plan":"pro\u2029")"), std::string::npos)
      << claims;
  EXPECT_EQ(claims.find("\xe2\x80"), std::string::npos) << claims;
  stytch_session_release(s);

  const std::string fine =
      R"({"member_session":{"member_session_id":"ms1","member_id":"m1",)"
      R"("organization_id":"o1"},"session_jwt":"","session_token":""})";
  ASSERT_EQ(stytch_api_parse_authenticate(200, fine.data(), fine.size(), &s,
                                          nullptr),
            STYTCH_OK);
  EXPECT_EQ(stytch_session_identity_safe(s), 1);
  stytch_session_release(s);

  const std::string org =
      R"({"member_session":{"member_session_id":"ms1","member_id":"m1",)"
      R"("organization_id":"o1\u0085"},"session_jwt":"","session_token":""})";
  ASSERT_EQ(stytch_api_parse_authenticate(200, org.data(), org.size(), &s,
                                          nullptr),
            STYTCH_OK);
  EXPECT_EQ(stytch_session_identity_safe(s), 0);
  stytch_session_release(s);
  EXPECT_EQ(stytch_session_identity_safe(nullptr), 0);
}
