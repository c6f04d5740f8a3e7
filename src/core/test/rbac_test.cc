// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "rbac.h"

#include <gtest/gtest.h>

#include <string>

#include "jwt.h"
#include "session.h"

namespace stytch {
namespace {

const char kPolicy[] = R"({"request_id":"r","status_code":200,"policy":{
  "roles":[
    {"role_id":"stytch_user","description":"","permissions":[]},
    {"role_id":"editor","description":"","permissions":[
      {"resource_id":"documents","actions":["read","write"]}]},
    {"role_id":"admin","description":"","permissions":[
      {"resource_id":"documents","actions":["*"]}]},
    {"role_id":"viewer","description":"","permissions":[
      {"resource_id":"images","actions":["read"]}]}],
  "resources":[{"resource_id":"documents","description":"",
                "actions":["create","read","write","delete"]}],
  "scopes":[]}})";

const char kOrgPolicy[] = R"({"request_id":"r","status_code":200,
  "org_policy":{"roles":[
    {"role_id":"org_auditor","description":"","permissions":[
      {"resource_id":"audit_logs","actions":["read"]}]},
    {"role_id":"editor","description":"","permissions":[
      {"resource_id":"reports","actions":["export"]}]}]}})";

Ref<Session> SessionWith(const std::string& roles_json,
                         const char* org = nullptr) {
  std::string text = R"({"sub":"u","https://stytch.com/session":{"id":"s")";
  if (!roles_json.empty()) text += ",\"roles\":" + roles_json;
  text += "}";
  if (org != nullptr) {
    text += std::string(R"(,"https://stytch.com/organization":)"
                        R"({"organization_id":")") +
            org + "\"}";
  }
  text += "}";
  std::unique_ptr<JwtPayload> p;
  EXPECT_EQ(ParseJwtPayloadJson(text, &p), Status::kOk) << text;
  Ref<Session> s;
  EXPECT_EQ(SessionFromJwtPayload(std::move(p), 100, &s), Status::kOk) << text;
  return s;
}

class RbacTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(Policy::Parse(kPolicy, &p_), Status::kOk); }
  Status Check(const Ref<Session>& s, const char* res, const char* act,
               const char* org = nullptr) {
    const std::string_view o = org ? org : "";
    return p_.Check(*s, res, act, org ? &o : nullptr);
  }
  Policy p_;
};

TEST_F(RbacTest, ExactActions) {
  auto s = SessionWith(R"(["editor"])");
  EXPECT_EQ(Check(s, "documents", "read"), Status::kOk);
  EXPECT_EQ(Check(s, "documents", "write"), Status::kOk);
  EXPECT_EQ(Check(s, "documents", "delete"), Status::kPermissionDenied);
  EXPECT_EQ(Check(s, "documents", "Read"), Status::kPermissionDenied);
}

TEST_F(RbacTest, StarGrantsEveryActionOnItsResourceOnly) {
  auto s = SessionWith(R"(["admin"])");
  EXPECT_EQ(Check(s, "documents", "delete"), Status::kOk);
  EXPECT_EQ(Check(s, "documents", "anything"), Status::kOk);
  EXPECT_EQ(Check(s, "images", "read"), Status::kPermissionDenied);
}

TEST_F(RbacTest, ResourceMatchIsExact) {
  auto s = SessionWith(R"(["editor"])");
  EXPECT_EQ(Check(s, "document", "read"), Status::kPermissionDenied);
  EXPECT_EQ(Check(s, "documents/1", "read"), Status::kPermissionDenied);
  EXPECT_EQ(Check(s, "*", "read"), Status::kPermissionDenied);
  EXPECT_EQ(Check(s, "", "read"), Status::kPermissionDenied);
}

TEST_F(RbacTest, AnyOfSeveralRoles) {
  auto s = SessionWith(R"(["stytch_user","viewer","editor"])");
  EXPECT_EQ(Check(s, "images", "read"), Status::kOk);
  EXPECT_EQ(Check(s, "documents", "write"), Status::kOk);
  EXPECT_EQ(Check(s, "images", "write"), Status::kPermissionDenied);
}

TEST_F(RbacTest, RoleMissingFromPolicyGrantsNothing) {
  auto s = SessionWith(R"(["ghost","superuser"])");
  EXPECT_EQ(Check(s, "documents", "read"), Status::kPermissionDenied);
}

TEST_F(RbacTest, MissingRolesClaimIsDenied) {
  auto s = SessionWith("");
  EXPECT_EQ(Check(s, "documents", "read"), Status::kPermissionDenied);
}

TEST_F(RbacTest, TenancyIsCheckedFirst) {
  auto s = SessionWith(R"(["admin"])", "org-a");
  EXPECT_EQ(Check(s, "documents", "read", "org-a"), Status::kOk);
  EXPECT_EQ(Check(s, "documents", "read", "org-b"), Status::kTenancyMismatch);
  // Even an action the roles would not grant reports the tenancy first.
  EXPECT_EQ(Check(s, "images", "read", "org-b"), Status::kTenancyMismatch);
  EXPECT_EQ(Check(s, "images", "read", "org-a"), Status::kPermissionDenied);
  // A consumer session belongs to no organization, not even "".
  auto consumer = SessionWith(R"(["admin"])");
  EXPECT_EQ(Check(consumer, "documents", "read", ""), Status::kTenancyMismatch);
  EXPECT_EQ(Check(consumer, "documents", "read", "org-a"),
            Status::kTenancyMismatch);
}

TEST_F(RbacTest, OrgPolicyAddsRoles) {
  auto auditor = SessionWith(R"(["org_auditor"])", "org-a");
  auto editor = SessionWith(R"(["editor"])", "org-a");
  EXPECT_EQ(Check(auditor, "audit_logs", "read", "org-a"),
            Status::kPermissionDenied);
  ASSERT_EQ(p_.AddOrg(kOrgPolicy), Status::kOk);
  EXPECT_EQ(Check(auditor, "audit_logs", "read", "org-a"), Status::kOk);
  // A role in both keeps the project's permissions and gains the org's.
  EXPECT_EQ(Check(editor, "documents", "write", "org-a"), Status::kOk);
  EXPECT_EQ(Check(editor, "reports", "export", "org-a"), Status::kOk);
}

TEST_F(RbacTest, BadOrgPolicyChangesNothing) {
  EXPECT_EQ(p_.AddOrg(R"({"org_policy":{"roles":[{"role_id":"org_auditor",)"
                      R"("permissions":[{"resource_id":"audit_logs",)"
                      R"("actions":["read"]}]},{"permissions":[]}]}})"),
            Status::kPolicyInvalid);
  auto auditor = SessionWith(R"(["org_auditor"])");
  EXPECT_EQ(Check(auditor, "audit_logs", "read"), Status::kPermissionDenied);
  EXPECT_EQ(p_.AddOrg("{}"), Status::kPolicyInvalid);
  EXPECT_EQ(p_.AddOrg(R"({"org_policy":{}})"), Status::kOk);
  EXPECT_EQ(p_.role_count(), 4u);
}

// A Connected Apps project's policy: scopes map to permissions.
const char kScopesPolicy[] = R"({"request_id":"r","status_code":200,"policy":{
  "roles":[
    {"role_id":"read:documents","description":"","permissions":[
      {"resource_id":"images","actions":["*"]}]}],
  "resources":[],
  "scopes":[
    {"scope":"read:documents","description":"","permissions":[
      {"resource_id":"documents","actions":["read"]}]},
    {"scope":"manage:documents","description":"","permissions":[
      {"resource_id":"documents","actions":["*"]},
      {"resource_id":"reports","actions":["export","read"]}]},
    {"scope":"crud:data","description":"","permissions":[
      {"resource_id":"documents","actions":["create","read","update"]}]},
    {"scope":"openid","description":"","permissions":[]}]}})";

Ref<Session> OAuthWith(const std::string& scope, const char* org = nullptr,
                       const char* client_id = "connected-app-1") {
  std::string text = R"({"sub":"user-1","scope":")" + scope + "\"";
  if (client_id != nullptr) {
    text += std::string(R"(,"client_id":")") + client_id + "\"";
  }
  if (org != nullptr) {
    text += std::string(R"(,"https://stytch.com/organization":)"
                        R"({"organization_id":")") +
            org + "\"}";
  }
  text += "}";
  std::unique_ptr<JwtPayload> p;
  EXPECT_EQ(ParseJwtPayloadJson(text, &p), Status::kOk) << text;
  Ref<Session> s;
  EXPECT_EQ(SessionFromJwtPayload(std::move(p), 100, &s), Status::kOk) << text;
  return s;
}

class RbacScopesTest : public RbacTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(Policy::Parse(kScopesPolicy, &p_), Status::kOk);
  }
};

// stytch-node's performScopeAuthorizationCheck: the policy scopes named by
// the token's scopes, exactly, grant by their permissions' resource and
// action (or "*").
TEST_F(RbacScopesTest, OAuthScopesGrant) {
  EXPECT_EQ(p_.scope_count(), 4u);
  auto reader = OAuthWith("openid read:documents");
  ASSERT_TRUE(reader->is_oauth());
  EXPECT_EQ(Check(reader, "documents", "read"), Status::kOk);
  EXPECT_EQ(Check(reader, "documents", "write"), Status::kPermissionDenied);
  EXPECT_EQ(Check(reader, "reports", "read"), Status::kPermissionDenied);
  // Scopes are not roles: the role of the same name grants nothing.
  EXPECT_EQ(Check(reader, "images", "read"), Status::kPermissionDenied);

  auto manager = OAuthWith("manage:documents");
  EXPECT_EQ(Check(manager, "documents", "delete"), Status::kOk);
  EXPECT_EQ(Check(manager, "reports", "export"), Status::kOk);
  EXPECT_EQ(Check(manager, "reports", "delete"), Status::kPermissionDenied);
  EXPECT_EQ(Check(manager, "document", "read"), Status::kPermissionDenied);

  // The cases of stytch-node's rbac_local tests.
  auto crud = OAuthWith("crud:data");
  EXPECT_EQ(Check(crud, "documents", "create"), Status::kOk);
  EXPECT_EQ(Check(OAuthWith("write:data"), "documents", "delete"),
            Status::kPermissionDenied);
  EXPECT_EQ(Check(crud, "images", "write"), Status::kPermissionDenied);
}

TEST_F(RbacScopesTest, OAuthScopesCompareExactly) {
  // No action:resource reading, no prefix, no case folding.
  for (const char* scope :
       {"read", "read:*", "Read:documents", "read:documents:x", "", "openid"}) {
    EXPECT_EQ(Check(OAuthWith(scope), "documents", "read"),
              Status::kPermissionDenied)
        << scope;
  }
  // The claim is trimmed and split on each space, as idp.ts does.
  EXPECT_EQ(Check(OAuthWith("  openid  read:documents "), "documents", "read"),
            Status::kOk);
  EXPECT_EQ(Check(OAuthWith("\\tread:documents\\n"), "documents", "read"),
            Status::kOk);
}

TEST_F(RbacScopesTest, OAuthTenancyFirst) {
  auto member = OAuthWith("manage:documents", "org-a");
  ASSERT_TRUE(member->is_b2b());
  EXPECT_EQ(Check(member, "documents", "read", "org-a"), Status::kOk);
  EXPECT_EQ(Check(member, "documents", "read", "org-b"),
            Status::kTenancyMismatch);
  EXPECT_EQ(Check(member, "images", "read", "org-b"), Status::kTenancyMismatch);
  EXPECT_EQ(Check(member, "images", "read", "org-a"),
            Status::kPermissionDenied);
  // A consumer token belongs to no organization.
  EXPECT_EQ(Check(OAuthWith("manage:documents"), "documents", "read", ""),
            Status::kTenancyMismatch);
}

// Neither sessions nor M2M tokens gain anything from the policy's scopes.
TEST_F(RbacScopesTest, OnlyOAuthTokensUseScopes) {
  auto m2m = OAuthWith("manage:documents", nullptr, nullptr);
  ASSERT_TRUE(m2m->is_m2m());
  EXPECT_EQ(Check(m2m, "documents", "read"), Status::kPermissionDenied);
  auto user = SessionWith(R"(["read:documents"])");
  EXPECT_EQ(Check(user, "documents", "read"), Status::kPermissionDenied);
  EXPECT_EQ(Check(user, "images", "read"), Status::kOk);
}

TEST(RbacParseTest, Scopes) {
  Policy p;
  for (const char* ok :
       {R"({"policy":{"roles":[]}})",
        R"({"policy":{"roles":[],"scopes":null}})",
        R"({"policy":{"roles":[],"scopes":[]}})",
        R"({"policy":{"roles":[],"scopes":[{"scope":"a"}]}})"}) {
    EXPECT_EQ(Policy::Parse(ok, &p), Status::kOk) << ok;
  }
  for (
      const char* bad :
      {R"({"policy":{"roles":[],"scopes":{}}})",
       R"({"policy":{"roles":[],"scopes":["a"]}})",
       R"({"policy":{"roles":[],"scopes":[{"role_id":"a"}]}})",
       R"({"policy":{"roles":[],"scopes":[{"scope":1}]}})",
       R"({"policy":{"roles":[],"scopes":[{"scope":"a","permissions":{}}]}})",
       R"({"policy":{"roles":[],"scopes":[{"scope":"a","permissions":[{"resource_id":"r"}]}]}})",
       R"({"policy":{"roles":[],"scopes":[{"scope":"a","permissions":[{"resource_id":"r","actions":[1]}]}]}})"}) {
    EXPECT_EQ(Policy::Parse(bad, &p), Status::kPolicyInvalid) << bad;
  }
}

// Scopes come from the project policy only; an organization's adds roles.
TEST_F(RbacScopesTest, OrgPolicyAddsNoScopes) {
  ASSERT_EQ(p_.AddOrg(R"({"org_policy":{"roles":[],"scopes":[
      {"scope":"x","permissions":[{"resource_id":"x","actions":["*"]}]}]}})"),
            Status::kOk);
  EXPECT_EQ(p_.scope_count(), 4u);
  EXPECT_EQ(Check(OAuthWith("x", "org-a"), "x", "read", "org-a"),
            Status::kPermissionDenied);
}

TEST(RbacParseTest, InvalidPolicies) {
  Policy p;
  for (
      const char* bad :
      {"", "[]", "{}", R"({"policy":[]})", R"({"policy":{}})",
       R"({"policy":{"roles":{}}})", R"({"policy":{"roles":["admin"]}})",
       R"({"policy":{"roles":[{"permissions":[]}]}})",
       R"({"policy":{"roles":[{"role_id":1}]}})",
       R"({"policy":{"roles":[{"role_id":"a","permissions":{}}]}})",
       R"({"policy":{"roles":[{"role_id":"a","permissions":[{"actions":[]}]}]}})",
       R"({"policy":{"roles":[{"role_id":"a","permissions":[{"resource_id":"r"}]}]}})",
       R"({"policy":{"roles":[{"role_id":"a","permissions":[{"resource_id":"r","actions":[1]}]}]}})",
       R"({"policy":{"roles":[],"roles":[]}})"}) {
    EXPECT_EQ(Policy::Parse(bad, &p), Status::kPolicyInvalid) << bad;
  }
  EXPECT_EQ(Policy::Parse(R"({"policy":{"roles":[]}})", &p), Status::kOk);
  std::string big = R"({"policy":{"roles":[]},"pad":")" +
                    std::string(STYTCH_MAX_POLICY_SIZE, 'x') + "\"}";
  EXPECT_EQ(Policy::Parse(big, &p), Status::kPolicyInvalid);
}

}  // namespace
}  // namespace stytch
