// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "verifier.h"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <string>
#include <vector>

#include "test_util.h"

namespace stytch {
namespace {

using stytch_test::Forge;
using stytch_test::Jwks;
using stytch_test::kExp;
using stytch_test::kIat;
using stytch_test::kKid1;
using stytch_test::kProject;
using stytch_test::Rs256Header;
using stytch_test::Token;

VerifierConfig Config(size_t cache_size = 0,
                      std::string api_url = "https://test.stytch.com/") {
  VerifierConfig c;
  c.project_id = kProject;
  c.api_url = std::move(api_url);
  c.cache_size = cache_size;
  return c;
}

VerifyParams At(int64_t now = kIat + 10, int64_t leeway = 0,
                int64_t max_age = -1, unsigned kinds = 0) {
  VerifyParams p;
  p.now = now;
  p.leeway = leeway;
  p.max_token_age = max_age;
  p.kinds = kinds;
  return p;
}

VerifyParams Kinds(unsigned kinds) { return At(kIat + 10, 0, -1, kinds); }

class VerifierTest : public ::testing::Test {
 protected:
  explicit VerifierTest(size_t cache_size = 0) : v_(Config(cache_size)) {}
  void SetUp() override {
    ASSERT_EQ(v_.SetJwks(Jwks("good"), nullptr), Status::kOk);
  }
  void TearDown() override {
    EXPECT_EQ(ERR_peek_error(), 0u) << "OpenSSL error queue left dirty";
  }
  Status Verify(const std::string& token, const VerifyParams& p = At()) {
    session_ = Ref<Session>();
    return v_.Verify(token, p, &session_, &cached_);
  }
  Status VerifyFixture(const std::string& name, const VerifyParams& p = At()) {
    return Verify(Token(name), p);
  }

  Verifier v_;
  Ref<Session> session_;
  bool cached_ = false;
};

TEST_F(VerifierTest, AcceptsValidTokens) {
  for (const char* name :
       {"consumer", "b2b", "custom_claims", "no_roles", "typical", "large",
        "aud_string", "aud_many", "typ_lower", "typ_absent", "jku", "key2",
        "key4096", "no_iat"}) {
    EXPECT_EQ(VerifyFixture(name), Status::kOk) << name;
    EXPECT_TRUE(session_) << name;
    EXPECT_FALSE(cached_);
  }
  ASSERT_EQ(VerifyFixture("b2b"), Status::kOk);
  EXPECT_TRUE(session_->is_b2b());
  EXPECT_EQ(session_->Field(STYTCH_FIELD_ROLES), "stytch_member,editor");
}

TEST_F(VerifierTest, Rejections) {
  struct {
    const char* name;
    Status want;
  } const cases[] = {
      {"expired", Status::kJwtExpired},
      {"nbf_future", Status::kClaimNotYetValid},
      {"iat_future", Status::kClaimNotYetValid},
      {"wrong_iss", Status::kClaimIssuerMismatch},
      {"custom_domain_iss", Status::kClaimIssuerMismatch},
      {"wrong_aud", Status::kClaimAudienceMismatch},
      {"aud_empty", Status::kClaimAudienceMismatch},
      {"exp_string", Status::kClaimInvalid},
      {"exp_float", Status::kClaimInvalid},
      {"exp_huge", Status::kClaimInvalid},
      {"exp_missing", Status::kClaimInvalid},
      {"exp_int_overflow", Status::kJwtPayloadInvalid},
      {"missing_kid", Status::kJwtKidMissing},
      {"kid_number", Status::kJwtKidMissing},
      {"alg_none", Status::kJwtAlgNotAllowed},
      {"hs256_pem", Status::kJwtAlgNotAllowed},
      {"hs256_der", Status::kJwtAlgNotAllowed},
      {"rs512", Status::kJwtAlgNotAllowed},
      {"ps256", Status::kJwtAlgNotAllowed},
      {"typ_other", Status::kJwtTypInvalid},
      {"crit", Status::kJwtCritPresent},
      {"unknown_kid", Status::kJwksUnknownKid},
      {"rogue_signed", Status::kJwtSignatureInvalid},
      {"key1024", Status::kJwksUnknownKid},
      {"payload_not_json", Status::kJwtPayloadInvalid},
      {"payload_array", Status::kJwtPayloadInvalid},
      {"session_missing", Status::kSessionClaimInvalid},
      {"session_no_id", Status::kSessionClaimInvalid},
      {"session_bad_time", Status::kSessionClaimInvalid},
      {"roles_not_strings", Status::kSessionClaimInvalid},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(VerifyFixture(c.name), c.want) << c.name;
    // A session (untrusted, for logs) once the signature verified and the
    // payload parsed; never before.
    const bool signed_payload = StatusAction(c.want) == Action::kFallback &&
                                c.want != Status::kJwksUnknownKid;
    EXPECT_EQ(static_cast<bool>(session_), signed_payload) << c.name;
  }
}

// Stytch's SDKs ask the API on any local failure.  Once the project's key
// verified the signature the token is Stytch's own, so asking cannot let a
// forgery reach Stytch: every later failure falls back, with who it was.
TEST_F(VerifierTest, FailuresAfterTheSignatureFallBackWithTheSession) {
  struct {
    const char* name;
    Status want;
    const char* iss;
  } const cases[] = {
      {"wrong_iss", Status::kClaimIssuerMismatch,
       "stytch.com/project-test-other"},
      {"custom_domain_iss", Status::kClaimIssuerMismatch,
       "https://auth.example.com"},
      {"wrong_aud", Status::kClaimAudienceMismatch, nullptr},
      {"nbf_future", Status::kClaimNotYetValid, nullptr},
      {"iat_future", Status::kClaimNotYetValid, nullptr},
      {"exp_string", Status::kClaimInvalid, nullptr},
      {"exp_missing", Status::kClaimInvalid, nullptr},
      {"sub_missing", Status::kClaimInvalid, nullptr},
      {"session_missing", Status::kSessionClaimInvalid, nullptr},
      {"session_no_id", Status::kSessionClaimInvalid, nullptr},
      {"roles_not_strings", Status::kSessionClaimInvalid, nullptr},
      {"expired", Status::kJwtExpired, nullptr},
  };
  const std::string issuer = std::string("stytch.com/") + kProject;
  for (const auto& c : cases) {
    EXPECT_EQ(VerifyFixture(c.name), c.want) << c.name;
    EXPECT_EQ(StatusAction(c.want), Action::kFallback) << c.name;
    ASSERT_TRUE(session_) << c.name;
    EXPECT_EQ(session_->Field(STYTCH_FIELD_ISSUER), c.iss ? c.iss : issuer)
        << c.name;
    EXPECT_EQ(session_->Field(STYTCH_FIELD_SUBJECT),
              std::string(c.name) == "sub_missing"
                  ? ""
                  : "user-test-828132d7-efc0-4951-87ec-8d9328ea1c2e")
        << c.name;
  }
  // A session claim without an id still names the session it could.
  ASSERT_EQ(VerifyFixture("roles_not_strings"), Status::kSessionClaimInvalid);
  EXPECT_EQ(session_->Field(STYTCH_FIELD_SESSION_ID), "session-test-1");
  EXPECT_TRUE(session_->roles().empty());
}

TEST_F(VerifierTest, IssuerFieldOnSuccess) {
  ASSERT_EQ(VerifyFixture("consumer"), Status::kOk);
  EXPECT_EQ(session_->Field(STYTCH_FIELD_ISSUER),
            std::string("stytch.com/") + kProject);
}

TEST_F(VerifierTest, ExpMaxIsValidNotWrapped) {
  EXPECT_EQ(VerifyFixture("exp_max", At(kIat + 10, 1000)), Status::kOk);
}

TEST_F(VerifierTest, SignatureIsCheckedBeforeExpiry) {
  // A forged expired token must be a 401, never a fallback to the API.
  EXPECT_EQ(VerifyFixture("expired_rogue"), Status::kJwtSignatureInvalid);
  EXPECT_EQ(VerifyFixture("expired"), Status::kJwtExpired);
  // Forged with a future nbf, wrong iss, no session: all signature first.
  const std::string t = Token("nbf_future");
  EXPECT_EQ(Verify(t.substr(0, t.rfind('.') + 1) +
                   Token("consumer").substr(Token("consumer").rfind('.') + 1)),
            Status::kJwtSignatureInvalid);
}

TEST_F(VerifierTest, ExpiredAndTooOldStillCarryTheSession) {
  EXPECT_EQ(VerifyFixture("consumer", At(kExp)), Status::kJwtExpired);
  ASSERT_TRUE(session_);
  EXPECT_EQ(session_->Field(STYTCH_FIELD_SUBJECT),
            "user-test-828132d7-efc0-4951-87ec-8d9328ea1c2e");
  EXPECT_EQ(VerifyFixture("consumer", At(kIat + 100, 0, 60)),
            Status::kJwtTooOld);
  EXPECT_TRUE(session_);
}

TEST_F(VerifierTest, LeewayBoundaries) {
  EXPECT_EQ(VerifyFixture("consumer", At(kExp - 1)), Status::kOk);
  EXPECT_EQ(VerifyFixture("consumer", At(kExp)), Status::kJwtExpired);
  EXPECT_EQ(VerifyFixture("consumer", At(kExp + 1)), Status::kJwtExpired);
  EXPECT_EQ(VerifyFixture("consumer", At(kExp + 4, 5)), Status::kOk);
  EXPECT_EQ(VerifyFixture("consumer", At(kExp + 5, 5)), Status::kJwtExpired);
  // nbf = iat + 100 in nbf_future.
  EXPECT_EQ(VerifyFixture("nbf_future", At(kIat + 99)),
            Status::kClaimNotYetValid);
  EXPECT_EQ(VerifyFixture("nbf_future", At(kIat + 100)), Status::kOk);
  EXPECT_EQ(VerifyFixture("nbf_future", At(kIat + 101)), Status::kOk);
  EXPECT_EQ(VerifyFixture("nbf_future", At(kIat + 94, 5)),
            Status::kClaimNotYetValid);
  EXPECT_EQ(VerifyFixture("nbf_future", At(kIat + 95, 5)), Status::kOk);
  EXPECT_EQ(VerifyFixture("nbf_future", At(kIat + 96, 5)), Status::kOk);
}

TEST_F(VerifierTest, MaxTokenAge) {
  EXPECT_EQ(VerifyFixture("consumer", At(kIat + 59, 0, 60)), Status::kOk);
  EXPECT_EQ(VerifyFixture("consumer", At(kIat + 60, 0, 60)),
            Status::kJwtTooOld);
  EXPECT_EQ(VerifyFixture("consumer", At(kIat, 0, 0)), Status::kJwtTooOld);
  EXPECT_EQ(VerifyFixture("no_iat", At(kIat, 0, 60)), Status::kClaimInvalid);
}

TEST_F(VerifierTest, SignatureBitFlipsAndTruncations) {
  const std::string t = Token("consumer");
  ASSERT_EQ(Verify(t), Status::kOk);
  const size_t sig_start = t.rfind('.') + 1;
  for (size_t i = sig_start; i < t.size(); i += 17) {
    std::string bad = t;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    const Status st = Verify(bad);
    // Changing the last character may also make the encoding
    // non-canonical: malformed, equally a 401.
    EXPECT_TRUE(st == Status::kJwtSignatureInvalid ||
                st == Status::kTokenMalformed)
        << i;
  }
  EXPECT_EQ(Verify(t.substr(0, t.size() - 2)), Status::kJwtSignatureInvalid);
  EXPECT_EQ(Verify(t.substr(0, sig_start)), Status::kJwtSignatureInvalid);
  EXPECT_EQ(Verify(t.substr(0, sig_start - 1)), Status::kTokenMalformed);
  EXPECT_EQ(Verify(t + "AAAA"), Status::kJwtSignatureInvalid);
  // Payload bytes changed under a valid signature.
  std::string body = t;
  body[sig_start - 10] = body[sig_start - 10] == 'x' ? 'y' : 'x';
  EXPECT_EQ(Verify(body), Status::kJwtSignatureInvalid);
}

TEST_F(VerifierTest, SegmentCountsPaddingAndCharacters) {
  const std::string t = Token("consumer");
  const std::string two = t.substr(0, t.rfind('.'));
  EXPECT_EQ(Verify(two), Status::kTokenMalformed);
  EXPECT_EQ(Verify(t + ".AAAA"), Status::kTokenMalformed);
  EXPECT_EQ(Verify(t + ".AAAA.AAAA"), Status::kTokenMalformed);
  EXPECT_EQ(Verify(t + "="), Status::kTokenMalformed);
  EXPECT_EQ(Verify(t + "%"), Status::kTokenMalformed);
  EXPECT_EQ(Verify("Bearer " + t), Status::kTokenMalformed);
}

TEST_F(VerifierTest, SizeLimits) {
  EXPECT_EQ(Verify(""), Status::kTokenMissing);
  EXPECT_EQ(Verify(std::string(1 << 20, 'A')), Status::kTokenTooLarge);
  const std::string t = Token("consumer");
  const size_t dot = t.find('.');
  EXPECT_EQ(Verify(t.substr(0, dot) + "." + std::string(1 << 20, 'A') +
                   t.substr(t.rfind('.'))),
            Status::kTokenTooLarge);
}

TEST_F(VerifierTest, DeepJsonIsRefused) {
  const std::string deep =
      R"({"a":)" + std::string(5000, '[') + std::string(5000, ']') + "}";
  EXPECT_EQ(Verify(Forge(deep, "{}")), Status::kJwtHeaderInvalid);
}

TEST_F(VerifierTest, HeaderRulesComeBeforeKeys) {
  Verifier empty(Config());
  Ref<Session> s;
  bool cached;
  EXPECT_EQ(empty.Verify(Token("consumer"), At(), &s, &cached),
            Status::kJwksNoKeys);
  EXPECT_EQ(empty.Verify(Token("alg_none"), At(), &s, &cached),
            Status::kJwtAlgNotAllowed);
  EXPECT_EQ(empty.Verify(Token("hs256_pem"), At(), &s, &cached),
            Status::kJwtAlgNotAllowed);
  EXPECT_EQ(empty.Verify("a.b", At(), &s, &cached), Status::kTokenMalformed);
  EXPECT_FALSE(empty.has_keys());
}

TEST_F(VerifierTest, ForgedHeadersAreRefusedByName) {
  EXPECT_EQ(
      Verify(Forge(R"({"alg":"ES256","kid":")" + std::string(kKid1) + "\"}",
                   "{}")),
      Status::kJwtAlgNotAllowed);
  EXPECT_EQ(Verify(Forge(Rs256Header(), "{}")), Status::kJwtSignatureInvalid);
  EXPECT_EQ(Verify(Forge("[]", "{}")), Status::kJwtHeaderInvalid);
}

TEST_F(VerifierTest, CustomDomainIssuer) {
  Verifier v(Config(0, "https://auth.example.com//"));
  ASSERT_EQ(v.SetJwks(Jwks("good"), nullptr), Status::kOk);
  Ref<Session> s;
  bool cached;
  EXPECT_EQ(v.Verify(Token("custom_domain_iss"), At(), &s, &cached),
            Status::kOk);
  EXPECT_EQ(v.Verify(Token("consumer"), At(), &s, &cached), Status::kOk);
  EXPECT_EQ(v.Verify(Token("wrong_iss"), At(), &s, &cached),
            Status::kClaimIssuerMismatch);
}

TEST_F(VerifierTest, ExplicitIssuersAreExactlyTheList) {
  VerifierConfig c = Config();
  c.issuers = std::vector<std::string>{"https://auth.example.com"};
  Verifier v(c);
  ASSERT_EQ(v.SetJwks(Jwks("good"), nullptr), Status::kOk);
  Ref<Session> s;
  bool cached;
  EXPECT_EQ(v.Verify(Token("custom_domain_iss"), At(), &s, &cached),
            Status::kOk);
  EXPECT_EQ(v.Verify(Token("custom_domain_iss_slash"), At(), &s, &cached),
            Status::kOk);
  EXPECT_EQ(v.Verify(Token("consumer"), At(), &s, &cached),
            Status::kClaimIssuerMismatch);
  // The default pair does not trim the token's iss.
  EXPECT_EQ(VerifyFixture("custom_domain_iss_slash"),
            Status::kClaimIssuerMismatch);

  c.issuers = std::vector<std::string>{"https://auth.example.com/",
                                       std::string("stytch.com/") + kProject};
  Verifier both(c);
  ASSERT_EQ(both.SetJwks(Jwks("good"), nullptr), Status::kOk);
  EXPECT_EQ(both.Verify(Token("consumer"), At(), &s, &cached), Status::kOk);
  EXPECT_EQ(both.Verify(Token("custom_domain_iss"), At(), &s, &cached),
            Status::kOk);
  EXPECT_EQ(both.Verify(Token("wrong_iss"), At(), &s, &cached),
            Status::kClaimIssuerMismatch);
}

TEST_F(VerifierTest, WrongProjectIsAudienceOrIssuerMismatch) {
  VerifierConfig c = Config();
  c.project_id = "project-test-other";
  Verifier v(c);
  ASSERT_EQ(v.SetJwks(Jwks("good"), nullptr), Status::kOk);
  Ref<Session> s;
  bool cached;
  EXPECT_EQ(v.Verify(Token("consumer"), At(), &s, &cached),
            Status::kClaimIssuerMismatch);
}

TEST_F(VerifierTest, KeyRotation) {
  size_t n = 99;
  ASSERT_EQ(v_.SetJwks(Jwks("key2_only"), &n), Status::kOk);
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(VerifyFixture("consumer"), Status::kJwksUnknownKid);
  EXPECT_EQ(VerifyFixture("key2"), Status::kOk);
  // A bad document keeps the current set.
  EXPECT_EQ(v_.SetJwks(Jwks("only_1024"), &n), Status::kJwksNoUsableKey);
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(v_.SetJwks("garbage", &n), Status::kJwksInvalid);
  EXPECT_EQ(VerifyFixture("key2"), Status::kOk);
}

TEST_F(VerifierTest, DuplicateKidCannotVerify) {
  ASSERT_EQ(v_.SetJwks(Jwks("dup_kid"), nullptr), Status::kOk);
  EXPECT_EQ(VerifyFixture("consumer"), Status::kJwksUnknownKid);
  EXPECT_EQ(VerifyFixture("rogue_signed"), Status::kJwksUnknownKid);
  EXPECT_EQ(VerifyFixture("key2"), Status::kOk);
}

TEST_F(VerifierTest, Only1024BitJwksLeavesNoKeys) {
  Verifier v(Config());
  EXPECT_EQ(v.SetJwks(Jwks("only_1024"), nullptr), Status::kJwksNoUsableKey);
  EXPECT_FALSE(v.has_keys());
  Ref<Session> s;
  bool cached;
  EXPECT_EQ(v.Verify(Token("key1024"), At(), &s, &cached), Status::kJwksNoKeys);
}

TEST_F(VerifierTest, M2mTokens) {
  ASSERT_EQ(VerifyFixture("m2m", Kinds(STYTCH_KIND_M2M)), Status::kOk);
  EXPECT_TRUE(session_->is_m2m());
  EXPECT_FALSE(session_->is_b2b());
  EXPECT_EQ(session_->Field(STYTCH_FIELD_SUBJECT),
            "m2m-client-test-00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(session_->Field(STYTCH_FIELD_CLIENT_ID),
            "m2m-client-test-00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(session_->Field(STYTCH_FIELD_SCOPES),
            "read:users read:books write:penguins");
  EXPECT_EQ(VerifyFixture("m2m", Kinds(STYTCH_KIND_SESSION | STYTCH_KIND_M2M)),
            Status::kOk);
  EXPECT_EQ(VerifyFixture("m2m_empty_scope", Kinds(STYTCH_KIND_M2M)),
            Status::kOk);
  EXPECT_EQ(session_->Field(STYTCH_FIELD_SCOPES), "");

  // Expired: the session goes with it, marked M2M, for the caller to
  // refuse without asking the API.
  EXPECT_EQ(VerifyFixture("m2m_expired", Kinds(STYTCH_KIND_M2M)),
            Status::kJwtExpired);
  ASSERT_TRUE(session_);
  EXPECT_TRUE(session_->is_m2m());
  // max_token_age is the session JWTs' rule: m2m.authenticateToken has
  // none, so an M2M token is held to its exp only, cached or not.
  EXPECT_EQ(VerifyFixture("m2m", At(kIat + 100, 0, 60, STYTCH_KIND_M2M)),
            Status::kOk);
  EXPECT_EQ(VerifyFixture("m2m", At(kIat + 100, 0, 60, STYTCH_KIND_M2M)),
            Status::kOk);
  EXPECT_EQ(VerifyFixture("m2m_wrong_iss", Kinds(STYTCH_KIND_M2M)),
            Status::kClaimIssuerMismatch);
  EXPECT_EQ(session_->Field(STYTCH_FIELD_ISSUER), "wrong-issuer.com");
  EXPECT_EQ(VerifyFixture("m2m_no_sub", Kinds(STYTCH_KIND_M2M)),
            Status::kClaimInvalid);
  ASSERT_TRUE(session_);
  EXPECT_TRUE(session_->is_m2m());
  // A forged M2M token is a forgery like any other.
  const std::string m2m = Token("m2m");
  EXPECT_EQ(Verify(m2m.substr(0, m2m.rfind('.') + 1) + "AAAA",
                   Kinds(STYTCH_KIND_M2M)),
            Status::kJwtSignatureInvalid);
}

// The API can make neither kind into the other: a token of a kind the
// location does not take is refused after its signature, never asked.
TEST_F(VerifierTest, KindsTheLocationDoesNotTake) {
  EXPECT_EQ(StatusAction(Status::kTokenKindNotAllowed), Action::kUnauthorized);
  for (unsigned session_only : {0u, unsigned{STYTCH_KIND_SESSION}}) {
    EXPECT_EQ(VerifyFixture("m2m", Kinds(session_only)),
              Status::kTokenKindNotAllowed);
    EXPECT_TRUE(session_ && session_->is_m2m());
    // Before its expiry or issuer is looked at.
    EXPECT_EQ(VerifyFixture("m2m_expired", Kinds(session_only)),
              Status::kTokenKindNotAllowed);
    EXPECT_EQ(VerifyFixture("m2m_wrong_iss", Kinds(session_only)),
              Status::kTokenKindNotAllowed);
    EXPECT_EQ(VerifyFixture("consumer", Kinds(session_only)), Status::kOk);
  }
  EXPECT_EQ(VerifyFixture("consumer", Kinds(STYTCH_KIND_M2M)),
            Status::kTokenKindNotAllowed);
  EXPECT_TRUE(session_ && !session_->is_m2m());
  EXPECT_EQ(VerifyFixture("expired", Kinds(STYTCH_KIND_M2M)),
            Status::kTokenKindNotAllowed);
  // Neither a session claim nor a string scope: a (broken) session token.
  for (const char* name :
       {"m2m_no_scope", "m2m_scope_array", "session_missing"}) {
    EXPECT_EQ(VerifyFixture(name, Kinds(STYTCH_KIND_M2M)),
              Status::kTokenKindNotAllowed)
        << name;
    EXPECT_EQ(VerifyFixture(name, Kinds(STYTCH_KIND_SESSION)),
              Status::kSessionClaimInvalid)
        << name;
  }
  // A session claim makes a session token; its "scope" is a custom claim.
  ASSERT_EQ(VerifyFixture("session_with_scope"), Status::kOk);
  EXPECT_FALSE(session_->is_m2m());
  EXPECT_EQ(session_->Field(STYTCH_FIELD_SCOPES), "");
  EXPECT_EQ(session_->Claim("scope").value(), "read:users");
  EXPECT_EQ(VerifyFixture("session_with_scope", Kinds(STYTCH_KIND_M2M)),
            Status::kTokenKindNotAllowed);
  // Bits beyond the three kinds are ignored.
  EXPECT_EQ(VerifyFixture("m2m", Kinds(8 | STYTCH_KIND_M2M)), Status::kOk);
  EXPECT_EQ(VerifyFixture("m2m", Kinds(8)), Status::kTokenKindNotAllowed);
  EXPECT_EQ(VerifyFixture("consumer", Kinds(8)), Status::kOk);
}

// Connected Apps access tokens: sub is the user who granted access,
// client_id the app, no session claim.
TEST_F(VerifierTest, OAuthTokens) {
  ASSERT_EQ(VerifyFixture("oauth", Kinds(STYTCH_KIND_OAUTH)), Status::kOk);
  EXPECT_EQ(session_->kind(), STYTCH_KIND_OAUTH);
  EXPECT_TRUE(session_->is_oauth());
  EXPECT_FALSE(session_->is_m2m());
  EXPECT_FALSE(session_->is_b2b());
  EXPECT_EQ(session_->Field(STYTCH_FIELD_SUBJECT),
            "user-test-828132d7-efc0-4951-87ec-8d9328ea1c2e");
  EXPECT_EQ(session_->Field(STYTCH_FIELD_CLIENT_ID),
            "connected-app-test-d731954d-dab3-4a2b-bdee-07f3ad1be888");
  EXPECT_EQ(session_->Field(STYTCH_FIELD_SCOPES),
            "openid email read:documents");
  EXPECT_EQ(session_->Field(STYTCH_FIELD_SESSION_ID), "");
  EXPECT_EQ(session_->Field(STYTCH_FIELD_ORGANIZATION_ID), "");
  EXPECT_EQ(session_->Field(STYTCH_FIELD_EXPIRES_AT), "2025-10-09T08:58:20Z");
  // scope and client_id have fields of their own; jti is registered.
  EXPECT_EQ(session_->Field(STYTCH_FIELD_CUSTOM_CLAIMS),
            R"({"custom key":"custom value"})");
  EXPECT_FALSE(session_->Claim("scope"));
  EXPECT_FALSE(session_->Claim("client_id"));
  EXPECT_TRUE(session_->IdentitySafe());

  ASSERT_EQ(VerifyFixture("oauth_b2b", Kinds(STYTCH_KIND_OAUTH)), Status::kOk);
  EXPECT_TRUE(session_->is_oauth());
  EXPECT_TRUE(session_->is_b2b());
  EXPECT_EQ(session_->Field(STYTCH_FIELD_SUBJECT),
            "member-test-32fc5024-9c09-4da3-bd2e-c9ce4da9375f");
  EXPECT_EQ(session_->Field(STYTCH_FIELD_ORGANIZATION_ID),
            "organization-test-33333333-3333-3333-3333-333333333333");
  EXPECT_EQ(session_->Field(STYTCH_FIELD_ORGANIZATION_SLUG), "acme");

  // The same time rules as the other kinds, but no maximum age (idp's
  // introspectTokenLocal has none), cached or not.
  EXPECT_EQ(VerifyFixture("oauth", At(kExp, 0, -1, STYTCH_KIND_OAUTH)),
            Status::kJwtExpired);
  EXPECT_EQ(VerifyFixture("oauth", At(kExp, 10, -1, STYTCH_KIND_OAUTH)),
            Status::kOk);
  EXPECT_EQ(VerifyFixture("oauth", At(kIat - 1, 0, -1, STYTCH_KIND_OAUTH)),
            Status::kClaimNotYetValid);
  EXPECT_EQ(VerifyFixture("oauth", At(kIat + 100, 0, 60, STYTCH_KIND_OAUTH)),
            Status::kOk);
  EXPECT_EQ(VerifyFixture("oauth_expired", Kinds(STYTCH_KIND_OAUTH)),
            Status::kJwtExpired);
  ASSERT_TRUE(session_);
  EXPECT_TRUE(session_->is_oauth());
  EXPECT_EQ(VerifyFixture("oauth_wrong_iss", Kinds(STYTCH_KIND_OAUTH)),
            Status::kClaimIssuerMismatch);
  EXPECT_EQ(session_->Field(STYTCH_FIELD_CLIENT_ID),
            "connected-app-test-d731954d-dab3-4a2b-bdee-07f3ad1be888");
  // A client_id of the wrong type or empty, no sub, an organization claim
  // without its id: a token Stytch signed but no valid one; the API
  // decides.
  for (const char* name : {"oauth_client_id_number", "oauth_client_id_empty",
                           "oauth_no_sub", "oauth_org_no_id"}) {
    EXPECT_EQ(VerifyFixture(name, Kinds(STYTCH_KIND_OAUTH)),
              Status::kClaimInvalid)
        << name;
    ASSERT_TRUE(session_) << name;
    EXPECT_TRUE(session_->is_oauth()) << name;
    // Never an M2M token, whose client would be the user.
    EXPECT_EQ(VerifyFixture(name, Kinds(STYTCH_KIND_M2M)),
              Status::kTokenKindNotAllowed)
        << name;
  }
  // No string scope: neither kind of access token.
  EXPECT_EQ(VerifyFixture("oauth_no_scope", Kinds(STYTCH_KIND_OAUTH)),
            Status::kTokenKindNotAllowed);
  EXPECT_EQ(session_->kind(), STYTCH_KIND_SESSION);
  const std::string oauth = Token("oauth");
  EXPECT_EQ(Verify(oauth.substr(0, oauth.rfind('.') + 1) + "AAAA",
                   Kinds(STYTCH_KIND_OAUTH)),
            Status::kJwtSignatureInvalid);
}

// Each kind is taken only where the caller says: an OAuth token is no M2M
// token and no session, and the reverse.
TEST_F(VerifierTest, OAuthKindIsItsOwn) {
  for (unsigned others :
       {0u, unsigned{STYTCH_KIND_SESSION}, unsigned{STYTCH_KIND_M2M},
        unsigned{STYTCH_KIND_SESSION | STYTCH_KIND_M2M}}) {
    EXPECT_EQ(VerifyFixture("oauth", Kinds(others)),
              Status::kTokenKindNotAllowed)
        << others;
    EXPECT_TRUE(session_ && session_->is_oauth());
    EXPECT_EQ(VerifyFixture("oauth_expired", Kinds(others)),
              Status::kTokenKindNotAllowed)
        << others;
  }
  EXPECT_EQ(VerifyFixture("m2m", Kinds(STYTCH_KIND_OAUTH)),
            Status::kTokenKindNotAllowed);
  EXPECT_EQ(session_->kind(), STYTCH_KIND_M2M);
  EXPECT_EQ(VerifyFixture("consumer", Kinds(STYTCH_KIND_OAUTH)),
            Status::kTokenKindNotAllowed);
  EXPECT_EQ(session_->kind(), STYTCH_KIND_SESSION);
  const unsigned all =
      STYTCH_KIND_SESSION | STYTCH_KIND_M2M | STYTCH_KIND_OAUTH;
  for (const char* name : {"oauth", "oauth_b2b", "m2m", "consumer", "b2b"}) {
    EXPECT_EQ(VerifyFixture(name, Kinds(all)), Status::kOk) << name;
  }
  EXPECT_EQ(VerifyFixture("oauth", Kinds(STYTCH_KIND_M2M | STYTCH_KIND_OAUTH)),
            Status::kOk);
}

class CachedVerifierTest : public VerifierTest {
 protected:
  CachedVerifierTest() : VerifierTest(16) {}
};

TEST_F(CachedVerifierTest, HitAfterSuccess) {
  const std::string t = Token("consumer");
  ASSERT_EQ(Verify(t), Status::kOk);
  EXPECT_FALSE(cached_);
  Session* first = session_.get();
  ASSERT_EQ(Verify(t), Status::kOk);
  EXPECT_TRUE(cached_);
  EXPECT_EQ(session_.get(), first);
  EXPECT_EQ(v_.cache().size(), 1u);
}

TEST_F(CachedVerifierTest, HitRechecksExpNbfAndAge) {
  const std::string t = Token("consumer");
  ASSERT_EQ(Verify(t, At(kIat + 10)), Status::kOk);
  EXPECT_EQ(Verify(t, At(kExp)), Status::kJwtExpired);
  EXPECT_TRUE(cached_);
  EXPECT_TRUE(session_);
  EXPECT_EQ(Verify(t, At(kExp, 10)), Status::kOk);
  EXPECT_TRUE(cached_);
  EXPECT_EQ(Verify(t, At(kIat + 100, 0, 60)), Status::kJwtTooOld);
  EXPECT_TRUE(cached_);
  EXPECT_EQ(Verify(t, At(kIat - 1)), Status::kClaimNotYetValid);
  EXPECT_TRUE(cached_);
  EXPECT_TRUE(session_);
  // Still valid for a caller with other settings.
  EXPECT_EQ(Verify(t, At(kIat + 10)), Status::kOk);
  EXPECT_TRUE(cached_);
}

// The cache is shared by locations that take different kinds: a hit is
// checked against the caller's kinds as a miss is.
TEST_F(CachedVerifierTest, HitRechecksTheKind) {
  const std::string m2m = Token("m2m");
  ASSERT_EQ(Verify(m2m, Kinds(STYTCH_KIND_M2M)), Status::kOk);
  ASSERT_EQ(Verify(m2m, Kinds(STYTCH_KIND_M2M)), Status::kOk);
  ASSERT_TRUE(cached_);
  EXPECT_EQ(Verify(m2m, Kinds(0)), Status::kTokenKindNotAllowed);
  EXPECT_TRUE(cached_);
  EXPECT_EQ(Verify(m2m, Kinds(STYTCH_KIND_SESSION)),
            Status::kTokenKindNotAllowed);
  EXPECT_TRUE(cached_);
  EXPECT_TRUE(session_ && session_->is_m2m());

  const std::string user = Token("consumer");
  ASSERT_EQ(Verify(user, Kinds(0)), Status::kOk);
  ASSERT_EQ(Verify(user, Kinds(STYTCH_KIND_SESSION)), Status::kOk);
  ASSERT_TRUE(cached_);
  EXPECT_EQ(Verify(user, Kinds(STYTCH_KIND_M2M)), Status::kTokenKindNotAllowed);
  EXPECT_TRUE(cached_);
  EXPECT_EQ(Verify(user, Kinds(STYTCH_KIND_M2M | STYTCH_KIND_SESSION)),
            Status::kOk);
  EXPECT_EQ(Verify(m2m, Kinds(STYTCH_KIND_M2M | STYTCH_KIND_SESSION)),
            Status::kOk);
  EXPECT_TRUE(cached_);

  const std::string oauth = Token("oauth");
  ASSERT_EQ(Verify(oauth, Kinds(STYTCH_KIND_OAUTH)), Status::kOk);
  ASSERT_EQ(Verify(oauth, Kinds(STYTCH_KIND_OAUTH)), Status::kOk);
  ASSERT_TRUE(cached_);
  EXPECT_EQ(Verify(oauth, Kinds(STYTCH_KIND_M2M)),
            Status::kTokenKindNotAllowed);
  EXPECT_TRUE(cached_);
  EXPECT_EQ(Verify(oauth, Kinds(0)), Status::kTokenKindNotAllowed);
  EXPECT_EQ(Verify(m2m, Kinds(STYTCH_KIND_OAUTH)),
            Status::kTokenKindNotAllowed);
  EXPECT_TRUE(cached_);
  // A hit holds an access token to its exp only, as a miss does.
  EXPECT_EQ(Verify(oauth, At(kIat + 100, 0, 60, STYTCH_KIND_OAUTH)),
            Status::kOk);
  EXPECT_TRUE(cached_);
  EXPECT_EQ(Verify(user, At(kIat + 100, 0, 60)), Status::kJwtTooOld);
  EXPECT_TRUE(cached_);
}

TEST_F(CachedVerifierTest, FailuresAreNotCached) {
  EXPECT_EQ(VerifyFixture("consumer", At(kExp)), Status::kJwtExpired);
  EXPECT_EQ(VerifyFixture("rogue_signed"), Status::kJwtSignatureInvalid);
  EXPECT_EQ(v_.cache().size(), 0u);
  EXPECT_EQ(VerifyFixture("rogue_signed"), Status::kJwtSignatureInvalid);
  EXPECT_FALSE(cached_);
}

// What the module's rsa_verifications counts: each token that reaches
// the signature step, valid or forged; never a hit, never a token refused
// or sent to the API before it.
TEST_F(CachedVerifierTest, SignatureChecksCountTheSignatureStepOnly) {
  const uint64_t start = v_.signature_checks();
  const std::string t = Token("consumer");
  ASSERT_EQ(Verify(t), Status::kOk);
  EXPECT_EQ(v_.signature_checks(), start + 1);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Verify(t), Status::kOk);
    ASSERT_TRUE(cached_);
  }
  EXPECT_EQ(v_.signature_checks(), start + 1);
  EXPECT_EQ(VerifyFixture("rogue_signed"), Status::kJwtSignatureInvalid);
  EXPECT_EQ(VerifyFixture("rogue_signed"), Status::kJwtSignatureInvalid);
  EXPECT_EQ(VerifyFixture("expired"), Status::kJwtExpired);
  EXPECT_EQ(v_.signature_checks(), start + 4);
  EXPECT_EQ(VerifyFixture("unknown_kid"), Status::kJwksUnknownKid);
  EXPECT_EQ(VerifyFixture("alg_none"), Status::kJwtAlgNotAllowed);
  EXPECT_EQ(Verify("a.b"), Status::kTokenMalformed);
  EXPECT_EQ(v_.signature_checks(), start + 4);
}

TEST_F(CachedVerifierTest, NewKeySetEmptiesTheCache) {
  const std::string t = Token("consumer");
  ASSERT_EQ(Verify(t), Status::kOk);
  ASSERT_EQ(Verify(t), Status::kOk);
  ASSERT_TRUE(cached_);
  // key1 is retired: its tokens must stop verifying at once.
  ASSERT_EQ(v_.SetJwks(Jwks("key2_only"), nullptr), Status::kOk);
  EXPECT_EQ(v_.cache().size(), 0u);
  EXPECT_EQ(Verify(t), Status::kJwksUnknownKid);
  EXPECT_FALSE(cached_);
}

TEST_F(CachedVerifierTest, SessionOutlivesEviction) {
  const std::string t = Token("consumer");
  ASSERT_EQ(Verify(t), Status::kOk);
  Ref<Session> held = session_;
  ASSERT_EQ(v_.SetJwks(Jwks("good"), nullptr), Status::kOk);  // clears
  EXPECT_EQ(held->Field(STYTCH_FIELD_SESSION_ID),
            "session-test-6f36c0f1-1d03-4afb-ac80-9cb231c7cba9");
}

TEST_F(CachedVerifierTest, CapacityIsBounded) {
  for (const char* name :
       {"consumer", "b2b", "custom_claims", "no_roles", "typical", "large",
        "aud_string", "aud_many", "typ_lower", "typ_absent", "jku", "key2",
        "key4096", "no_iat", "nbf_future", "exp_max", "custom_domain_iss"}) {
    Verify(Token(name), At(kIat + 200));
  }
  EXPECT_LE(v_.cache().size(), 16u);
}

}  // namespace
}  // namespace stytch
