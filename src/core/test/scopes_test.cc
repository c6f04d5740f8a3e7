// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "scopes.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jwt.h"
#include "session.h"

namespace stytch {
namespace {

std::string Join(const std::vector<std::string>& scopes) {
  std::string out;
  for (const auto& s : scopes) {
    if (!out.empty()) out += ' ';
    out += s;
  }
  return out;
}

// stytch-node's performAuthorizationCheck({hasScopes, requiredScopes}).
bool Check(const std::vector<std::string>& has,
           const std::vector<std::string>& needs) {
  return ScopesGrant(Join(has), Join(needs));
}

// The cases of stytch-node's test/b2c/m2m.test.ts, "performAuthorizationCheck".
TEST(ScopesTest, StytchNodeCases) {
  // basic
  EXPECT_TRUE(Check({"read:users", "write:users"}, {"read:users"}));
  // multiple required scopes
  EXPECT_TRUE(Check({"read:users", "write:users", "read:books"},
                    {"read:users", "read:books"}));
  // simple scopes
  EXPECT_TRUE(Check({"read_users", "write_users"}, {"read_users"}));
  // wildcard resource
  EXPECT_TRUE(Check({"read:*", "write:*"}, {"read:users"}));
  // missing required scope
  EXPECT_FALSE(Check({"read:users"}, {"write:users"}));
  // missing required scope with wildcard
  EXPECT_FALSE(Check({"read:users", "write:*"}, {"delete:books"}));
  // has simple scope and wants specific scope
  EXPECT_FALSE(Check({"read"}, {"read:users"}));
  // has specific scope and wants simple scope
  EXPECT_FALSE(Check({"read:users"}, {"read"}));
}

// m2m.authenticateToken's cases, on the token stytch-node signs there.
TEST(ScopesTest, StytchNodeAuthenticateTokenCases) {
  const std::string has = "read:users read:books write:penguins";
  EXPECT_TRUE(ScopesGrant(has, "write:penguins"));
  EXPECT_FALSE(ScopesGrant(has, "write:giraffes"));
  EXPECT_TRUE(ScopesGrant(has, ""));  // no required_scopes: no check
}

// What follows from the SDK's code rather than its tests.
TEST(ScopesTest, SdkSemantics) {
  // Every required scope must be met.
  EXPECT_FALSE(Check({"read:users"}, {"read:users", "read:books"}));
  // A bare action is the action with resource "-", as the SDK writes it.
  EXPECT_TRUE(Check({"read:-"}, {"read"}));
  EXPECT_TRUE(Check({"read"}, {"read:-"}));
  // "*" is a wildcard resource only, never an action, and only on the
  // side of the token.
  EXPECT_FALSE(Check({"*:users"}, {"read:users"}));
  EXPECT_FALSE(Check({"*"}, {"read"}));
  EXPECT_FALSE(Check({"read:users"}, {"read:*"}));
  EXPECT_TRUE(Check({"read:*"}, {"read:*"}));
  EXPECT_TRUE(Check({"read:*"}, {"read"}));
  // split(":") keeps the first two parts.
  EXPECT_TRUE(Check({"read:users:extra"}, {"read:users"}));
  EXPECT_TRUE(Check({"read:users"}, {"read:users:other"}));
  EXPECT_TRUE(Check({"read:"}, {"read:"}));
  EXPECT_FALSE(Check({"read:"}, {"read"}));
  // Exact, case-sensitive strings.
  EXPECT_FALSE(Check({"Read:users"}, {"read:users"}));
  EXPECT_FALSE(Check({"read:user"}, {"read:users"}));
  // Spaces separate; runs of them add no scope on the required side.
  EXPECT_TRUE(ScopesGrant("read:users  write:users", "  write:users   "));
  EXPECT_FALSE(ScopesGrant("", "read"));
  EXPECT_TRUE(ScopesGrant("", ""));
  EXPECT_TRUE(ScopesGrant("", "   "));
}

Ref<Session> FromJson(const std::string& text) {
  std::unique_ptr<JwtPayload> p;
  EXPECT_EQ(ParseJwtPayloadJson(text, &p), Status::kOk) << text;
  Ref<Session> s;
  EXPECT_EQ(SessionFromJwtPayload(std::move(p), 100, &s), Status::kOk) << text;
  return s;
}

TEST(ScopesTest, CheckSession) {
  const Ref<Session> m2m =
      FromJson(R"({"sub":"m2m-client-1","scope":"read:users write:*"})");
  ASSERT_TRUE(m2m->is_m2m());
  EXPECT_EQ(CheckScopes(*m2m, "read:users"), Status::kOk);
  EXPECT_EQ(CheckScopes(*m2m, "read:users write:books"), Status::kOk);
  EXPECT_EQ(CheckScopes(*m2m, "read:books"), Status::kScopeMissing);
  EXPECT_EQ(CheckScopes(*m2m, ""), Status::kOk);
  // A session token has no scopes, whatever custom claim it carries.
  const Ref<Session> user = FromJson(
      R"({"sub":"u","scope":"read:users","https://stytch.com/session":{"id":"s"}})");
  ASSERT_FALSE(user->is_m2m());
  EXPECT_EQ(CheckScopes(*user, "read:users"), Status::kScopeMissing);
  EXPECT_EQ(CheckScopes(*user, ""), Status::kOk);
}

// Connected Apps scopes are opaque strings: stytch-node matches an OAuth
// token's scopes by equality (idp.ts, rbac_local.ts), so "write:*" is a
// scope of its own, not a wildcard, and "read" is not "read:*".
TEST(ScopesTest, OAuthScopesMatchExactly) {
  const char kScopes[] = "openid read:documents write:*";
  const Ref<Session> oauth = FromJson(
      std::string(
          R"({"sub":"user-1","client_id":"connected-app-1","scope":")") +
      kScopes + "\"}");
  ASSERT_TRUE(oauth->is_oauth());
  EXPECT_EQ(CheckScopes(*oauth, "openid"), Status::kOk);
  EXPECT_EQ(CheckScopes(*oauth, "read:documents openid"), Status::kOk);
  EXPECT_EQ(CheckScopes(*oauth, "write:*"), Status::kOk);
  EXPECT_EQ(CheckScopes(*oauth, "write:documents"), Status::kScopeMissing);
  EXPECT_EQ(CheckScopes(*oauth, "read"), Status::kScopeMissing);
  EXPECT_EQ(CheckScopes(*oauth, "read:documents email"), Status::kScopeMissing);
  EXPECT_EQ(CheckScopes(*oauth, "Openid"), Status::kScopeMissing);
  EXPECT_EQ(CheckScopes(*oauth, ""), Status::kOk);
  EXPECT_EQ(CheckScopes(*oauth, "  openid  "), Status::kOk);
  // The same scopes on an M2M token follow m2m_local.ts's rule.
  const Ref<Session> m2m = FromJson(
      std::string(R"({"sub":"m2m-client-1","scope":")") + kScopes + "\"}");
  ASSERT_TRUE(m2m->is_m2m());
  EXPECT_EQ(CheckScopes(*m2m, "write:documents"), Status::kOk);

  EXPECT_TRUE(ScopesInclude("a b  c", "c a"));
  EXPECT_FALSE(ScopesInclude("a b", "a:b"));
  EXPECT_FALSE(ScopesInclude("", "a"));
  EXPECT_TRUE(ScopesInclude("", "   "));
}

}  // namespace
}  // namespace stytch
