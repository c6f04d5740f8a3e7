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
