// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "api.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "test_util.h"

namespace stytch {
namespace {

const char kConsumer[] = R"({
  "request_id": "request-id-test-1", "status_code": 200,
  "session": {
    "session_id": "session-test-1", "user_id": "user-test-1",
    "started_at": "2025-10-09T08:53:20Z",
    "last_accessed_at": "2025-10-09T08:55:00Z",
    "expires_at": "2025-10-09T09:53:20Z",
    "attributes": {"ip_address": "203.0.113.7", "user_agent": "curl"},
    "authentication_factors": [{"type": "otp", "delivery_method": "email"}],
    "roles": ["stytch_user", "admin"],
    "custom_claims": {"plan": "pro", "seats": 3}
  },
  "session_jwt": "NEWJWT", "session_token": "tok-1",
  "user": {"user_id": "user-test-1", "emails": []},
  "user_id": "user-test-1"
})";

const char kB2b[] = R"({
  "request_id": "request-id-test-2", "status_code": 200,
  "member_session": {
    "member_session_id": "member-session-test-1", "member_id": "member-test-1",
    "organization_id": "organization-test-1",
    "started_at": "2025-10-09T08:53:20Z",
    "last_accessed_at": "2025-10-09T08:55:00Z",
    "expires_at": "2025-10-09T09:53:20Z",
    "authentication_factors": [], "roles": ["stytch_member"],
    "custom_claims": {}
  },
  "member": {"member_id": "member-test-1"},
  "organization": {"organization_id": "organization-test-1",
                   "organization_slug": "acme"},
  "session_jwt": "", "session_token": "tok-2",
  "member_id": "member-test-1", "organization_id": "organization-test-1"
})";

Status Parse(int code, const std::string& body, Ref<Session>* s,
             stytch_api_error_t* err = nullptr) {
  return ParseAuthenticateResponse(code, body, s, err);
}

std::string F(const Session& s, stytch_field_t f) {
  return std::string(s.Field(f));
}

TEST(ApiTest, Consumer200) {
  Ref<Session> s;
  stytch_api_error_t err;
  ASSERT_EQ(Parse(200, kConsumer, &s, &err), Status::kOk);
  EXPECT_EQ(err.status_code, 200);
  EXPECT_FALSE(s->is_b2b());
  EXPECT_EQ(F(*s, STYTCH_FIELD_SUBJECT), "user-test-1");
  EXPECT_EQ(F(*s, STYTCH_FIELD_SESSION_ID), "session-test-1");
  EXPECT_EQ(F(*s, STYTCH_FIELD_STARTED_AT), "2025-10-09T08:53:20Z");
  EXPECT_EQ(F(*s, STYTCH_FIELD_LAST_ACCESSED_AT), "2025-10-09T08:55:00Z");
  EXPECT_EQ(F(*s, STYTCH_FIELD_EXPIRES_AT), "2025-10-09T09:53:20Z");
  EXPECT_EQ(s->expires_at(), 1760003600);
  EXPECT_EQ(F(*s, STYTCH_FIELD_ROLES), "stytch_user,admin");
  EXPECT_EQ(F(*s, STYTCH_FIELD_CUSTOM_CLAIMS), R"({"plan":"pro","seats":3})");
  EXPECT_EQ(s->Claim("plan").value(), "pro");
  EXPECT_EQ(s->Claim("seats").value(), "3");
  EXPECT_FALSE(s->Claim("user_id"));
  EXPECT_EQ(F(*s, STYTCH_FIELD_SESSION_JWT), "NEWJWT");
  EXPECT_EQ(F(*s, STYTCH_FIELD_SESSION_TOKEN), "tok-1");
  EXPECT_EQ(s->jwt_exp(), 0);  // "NEWJWT" is no JWT
}

TEST(ApiTest, ConsumerDetails) {
  Ref<Session> s;
  ASSERT_EQ(Parse(200, kConsumer, &s), Status::kOk);
  EXPECT_EQ(F(*s, STYTCH_FIELD_FACTOR_TYPES), "otp");
  EXPECT_EQ(F(*s, STYTCH_FIELD_DELIVERY_METHODS), "email");
  EXPECT_EQ(F(*s, STYTCH_FIELD_SSO_CONNECTION_IDS), "");
  EXPECT_EQ(F(*s, STYTCH_FIELD_LAST_AUTHENTICATED_AT), "");
  EXPECT_EQ(s->last_authenticated_at(), 0);
  EXPECT_EQ(F(*s, STYTCH_FIELD_AUTH_FACTORS),
            R"([{"delivery_method":"email","type":"otp"}])");
  EXPECT_EQ(F(*s, STYTCH_FIELD_IP_ADDRESS), "203.0.113.7");
  EXPECT_EQ(F(*s, STYTCH_FIELD_USER_AGENT), "curl");
}

const char kB2bSso[] = R"({
  "status_code": 200,
  "member_session": {
    "member_session_id": "member-session-test-2", "member_id": "member-test-2",
    "organization_id": "organization-test-2",
    "authentication_factors": [
      {"type": "sso", "delivery_method": "sso_oidc",
       "last_authenticated_at": "2025-10-09T08:55:00Z",
       "oidc_sso_factor": {"id": "oidc-registration-test-1",
                           "provider_id": "oidc-connection-test-1",
                           "external_id": "e1"}},
      {"type": "password", "delivery_method": "knowledge",
       "last_authenticated_at": "2025-10-09T09:00:00Z"},
      {"type": "sso", "delivery_method": "sso_saml",
       "last_authenticated_at": "2025-10-09T08:40:00Z",
       "saml_sso_factor": {"id": "saml-registration-test-1",
                           "provider_id": "saml-connection-test-1",
                           "external_id": "e2"}},
      {"type": "sso", "delivery_method": "sso_oidc",
       "last_authenticated_at": "2025-10-09T08:41:00Z",
       "oidc_sso_factor": {"id": "oidc-registration-test-1",
                           "provider_id": "oidc-connection-test-1",
                           "external_id": "e1"}}
    ],
    "roles": ["stytch_member"]
  },
  "session_token": "t", "session_jwt": ""
})";

TEST(ApiTest, B2bDetails) {
  Ref<Session> s;
  ASSERT_EQ(Parse(200, kB2bSso, &s), Status::kOk);
  EXPECT_EQ(F(*s, STYTCH_FIELD_FACTOR_TYPES), "sso,password");
  EXPECT_EQ(F(*s, STYTCH_FIELD_DELIVERY_METHODS),
            "sso_oidc,knowledge,sso_saml");
  EXPECT_EQ(F(*s, STYTCH_FIELD_SSO_CONNECTION_IDS),
            "oidc-connection-test-1,saml-connection-test-1");
  EXPECT_EQ(F(*s, STYTCH_FIELD_LAST_AUTHENTICATED_AT), "2025-10-09T09:00:00Z");
  EXPECT_EQ(s->last_authenticated_at(), 1760000400);
  EXPECT_EQ(F(*s, STYTCH_FIELD_IP_ADDRESS), "");
  EXPECT_EQ(F(*s, STYTCH_FIELD_USER_AGENT), "");
}

TEST(ApiTest, B2b200) {
  Ref<Session> s;
  ASSERT_EQ(Parse(200, kB2b, &s), Status::kOk);
  EXPECT_TRUE(s->is_b2b());
  EXPECT_EQ(F(*s, STYTCH_FIELD_SUBJECT), "member-test-1");
  EXPECT_EQ(F(*s, STYTCH_FIELD_SESSION_ID), "member-session-test-1");
  EXPECT_EQ(F(*s, STYTCH_FIELD_ORGANIZATION_ID), "organization-test-1");
  EXPECT_EQ(F(*s, STYTCH_FIELD_ORGANIZATION_SLUG), "acme");
  EXPECT_EQ(F(*s, STYTCH_FIELD_ROLES), "stytch_member");
  EXPECT_EQ(F(*s, STYTCH_FIELD_CUSTOM_CLAIMS), "{}");
  EXPECT_EQ(F(*s, STYTCH_FIELD_SESSION_TOKEN), "tok-2");
}

TEST(ApiTest, NewJwtExpIsRead) {
  const std::string jwt = stytch_test::Token("consumer");
  std::string body = kConsumer;
  body.replace(body.find("NEWJWT"), 6, jwt);
  Ref<Session> s;
  ASSERT_EQ(Parse(200, body, &s), Status::kOk);
  EXPECT_EQ(s->jwt_exp(), stytch_test::kExp);
  EXPECT_EQ(F(*s, STYTCH_FIELD_SESSION_JWT), jwt);
}

std::string ErrorBody(int code, const std::string& type) {
  return std::string(R"({"status_code":)") + std::to_string(code) +
         R"(,"request_id":"r","error_type":")" + type +
         R"(","error_message":"Something.",)"
         R"("error_url":"https://stytch.com/docs"})";
}

const char kCredentials[] = "stytch_project_id\" and \"stytch_secret";
const char kApiUrl[] = "stytch_api_url";

TEST(ApiTest, ErrorStatuses) {
  struct {
    int code;
    const char* type;
    Status want;
    const char* directive;
  } const cases[] = {
      // The project's own configuration: an error for us, not the client.
      {401, "unauthorized_credentials", Status::kApiUnauthorized, kCredentials},
      {403, "use_https", Status::kApiMisconfigured, kApiUrl},
      {401, "unauthorized_project_id_test", Status::kApiMisconfigured,
       "stytch_project_id\" and \"stytch_api_url"},
      {401, "unauthorized_project_id_live", Status::kApiMisconfigured,
       "stytch_project_id\" and \"stytch_api_url"},
      {400, "invalid_b2b_endpoint", Status::kApiMisconfigured, "stytch_b2b"},
      {400, "invalid_consumer_endpoint", Status::kApiMisconfigured,
       "stytch_b2b"},
      {404, "route_not_found", Status::kApiMisconfigured,
       "stytch_api_url\" and \"stytch_api_location"},
      {405, "method_not_allowed", Status::kApiMisconfigured,
       "stytch_api_url\" and \"stytch_api_location"},
      {400, "invalid_request_body", Status::kApiMisconfigured,
       "stytch_api_location"},
      {400, "too_many_session_arguments", Status::kApiMisconfigured,
       "stytch_api_location"},
      {400, "no_session_arguments", Status::kApiMisconfigured,
       "stytch_api_location"},
      {400, "invalid_project_id", Status::kApiMisconfigured,
       "stytch_project_id"},
      {404, "project_not_found", Status::kApiMisconfigured,
       "stytch_project_id"},
      // The client's token or session.
      {404, "session_not_found", Status::kApiSessionNotFound, nullptr},
      {400, "invalid_session_token", Status::kApiSessionNotFound, nullptr},
      {401, "unable_to_parse_session_jwt", Status::kApiSessionNotFound,
       nullptr},
      {401, "jwt_invalid_issuer", Status::kApiSessionNotFound, nullptr},
      {401, "jwt_invalid_audience", Status::kApiSessionNotFound, nullptr},
      {401, "jwt_invalid_claims", Status::kApiSessionNotFound, nullptr},
      {400, "invalid_session_id", Status::kApiSessionNotFound, nullptr},
      {404, "intermediate_session_not_found", Status::kApiSessionNotFound,
       nullptr},
      // even with a status that would say otherwise
      {403, "session_not_found", Status::kApiSessionNotFound, nullptr},
      // Authorization checks.
      {403, "session_authorization_error", Status::kApiForbidden, nullptr},
      {403, "session_authorization_tenancy_error", Status::kApiForbidden,
       nullptr},
      {403, "consumer_session_authorization_error", Status::kApiForbidden,
       nullptr},
      // a check the API will not grant, whatever status it comes with
      {403, "unauthorized_action", Status::kApiForbidden, nullptr},
      {400, "unauthorized_action", Status::kApiForbidden, nullptr},
      {400, "invalid_authorization_check", Status::kApiForbidden, nullptr},
      // Stytch busy or down.
      {429, "too_many_requests", Status::kApiRateLimited, nullptr},
      {400, "too_many_requests", Status::kApiRateLimited, nullptr},
      {500, "internal_server_error", Status::kApiUnavailable, nullptr},
      {503, "unavailable", Status::kApiUnavailable, nullptr},
      {502, "unauthorized_credentials", Status::kApiUnavailable, nullptr},
      // Unknown types: by status.  A 4xx is about what the client sent,
      // the one part of our request that varies, and the client is not
      // signed in; 403 is an authorization denial.
      {401, "invalid_session_jwt", Status::kApiSessionNotFound, nullptr},
      {400, "some_new_error", Status::kApiSessionNotFound, nullptr},
      {404, "some_new_error", Status::kApiSessionNotFound, nullptr},
      {418, "some_new_error", Status::kApiSessionNotFound, nullptr},
      {403, "some_new_error", Status::kApiForbidden, nullptr},
      {302, "some_new_error", Status::kApiResponseInvalid, nullptr},
  };
  for (const auto& c : cases) {
    Ref<Session> s;
    stytch_api_error_t err;
    EXPECT_EQ(Parse(c.code, ErrorBody(c.code, c.type), &s, &err), c.want)
        << c.code << " " << c.type;
    EXPECT_FALSE(s);
    EXPECT_EQ(err.status_code, c.code);
    EXPECT_STREQ(err.error_type, c.type);
    EXPECT_STREQ(err.error_message, "Something.");
    const char* d = stytch_api_error_directive(&err);
    if (c.directive == nullptr) {
      EXPECT_EQ(d, nullptr) << c.code << " " << c.type << ": " << d;
    } else {
      EXPECT_STREQ(d, c.directive) << c.code << " " << c.type;
    }
    const Action a = StatusAction(c.want);
    EXPECT_EQ(d != nullptr, a == Action::kError) << c.type;
  }
}

TEST(ApiTest, NewStatusesAndTheirActions) {
  EXPECT_STREQ(StatusName(Status::kApiMisconfigured), "api_misconfigured");
  EXPECT_EQ(StatusAction(Status::kApiMisconfigured), Action::kError);
  EXPECT_STREQ(StatusName(Status::kApiRateLimited), "api_rate_limited");
  EXPECT_EQ(StatusAction(Status::kApiRateLimited), Action::kUnavailable);
}

// A body that is no Stytch error (a CDN's or proxy's page, or JSON without
// an error_type) is not Stytch answering: the URL is wrong, unless the
// status says busy or down.
TEST(ApiTest, AnswersThatAreNotStytchs) {
  const std::string html = "<html><body>404 Not Found</body></html>";
  struct {
    int code;
    std::string body;
    Status want;
    const char* directive;
  } const cases[] = {
      {404, html, Status::kApiMisconfigured, kApiUrl},
      {401, html, Status::kApiMisconfigured, kApiUrl},
      {403, html, Status::kApiMisconfigured, kApiUrl},
      {400, "", Status::kApiMisconfigured, kApiUrl},
      {301, html, Status::kApiMisconfigured, kApiUrl},
      {404, R"({"message":"Not Found"})", Status::kApiMisconfigured, kApiUrl},
      {404, R"(["session_not_found"])", Status::kApiMisconfigured, kApiUrl},
      {404, R"({"error_type":7})", Status::kApiMisconfigured, kApiUrl},
      {404, R"({"error_type":""})", Status::kApiMisconfigured, kApiUrl},
      {429, html, Status::kApiRateLimited, nullptr},
      {502, html, Status::kApiUnavailable, nullptr},
      {504, "", Status::kApiUnavailable, nullptr},
      {200, html, Status::kApiResponseInvalid, nullptr},
      {200, "", Status::kApiResponseInvalid, nullptr},
  };
  for (const auto& c : cases) {
    Ref<Session> s;
    stytch_api_error_t err;
    EXPECT_EQ(Parse(c.code, c.body, &s, &err), c.want)
        << c.code << " " << c.body;
    EXPECT_EQ(err.status_code, c.code);
    EXPECT_STREQ(err.error_type, "");
    const char* d = stytch_api_error_directive(&err);
    if (c.directive == nullptr) {
      EXPECT_EQ(d, nullptr) << c.code << " " << c.body;
    } else {
      EXPECT_STREQ(d, c.directive) << c.code << " " << c.body;
    }
  }
}

// The OAuth2 form some of Stytch's endpoints answer with, as the SDKs
// read it.
TEST(ApiTest, OAuth2ErrorForm) {
  Ref<Session> s;
  stytch_api_error_t err;
  EXPECT_EQ(Parse(401,
                  R"({"status_code":401,"request_id":"r",)"
                  R"("error":"unauthorized_credentials",)"
                  R"("error_description":"Unauthorized credentials.",)"
                  R"("error_uri":"https://stytch.com/docs"})",
                  &s, &err),
            Status::kApiUnauthorized);
  EXPECT_STREQ(err.error_type, "unauthorized_credentials");
  EXPECT_STREQ(err.error_message, "Unauthorized credentials.");
}

// What HeaderSafe refuses never reaches the log line: the error text of
// an answer (both forms) has C1 controls, U+2028 and U+2029 replaced too.
TEST(ApiTest, ErrorTextLineBreaksReplaced) {
  Ref<Session> s;
  stytch_api_error_t err;
  Parse(401,
        "{\"error\":\"a\xc2\x85" "b\xe2\x80\xa8" "c\",\"error_description\":"
        "\"d\xe2\x80\xa9" "e\\u0085f\\nline\"}",
        &s, &err);
  EXPECT_STREQ(err.error_type, "a??b???c");
  EXPECT_STREQ(err.error_message, "d???e??f?line");
  EXPECT_TRUE(HeaderSafe(err.error_type));
  EXPECT_TRUE(HeaderSafe(err.error_message));
}

// The refresh timer's documents: the same table, and 200 is no error.
TEST(ApiTest, GenericErrorParse) {
  stytch_api_error_t err;
  const std::string b2b = ErrorBody(400, "invalid_b2b_endpoint");
  EXPECT_EQ(stytch_api_parse_error(400, b2b.data(), b2b.size(), &err),
            STYTCH_API_MISCONFIGURED);
  EXPECT_STREQ(err.error_type, "invalid_b2b_endpoint");
  EXPECT_STREQ(stytch_api_error_directive(&err), "stytch_b2b");
  EXPECT_EQ(stytch_api_parse_error(200, "{}", 2, &err), STYTCH_OK);
  EXPECT_EQ(err.status_code, 200);
  EXPECT_EQ(stytch_api_error_directive(&err), nullptr);
  EXPECT_EQ(stytch_api_parse_error(404, "<html>", 6, &err),
            STYTCH_API_MISCONFIGURED);
  EXPECT_STREQ(stytch_api_error_directive(&err), "stytch_api_url");
  EXPECT_EQ(stytch_api_parse_error(429, "", 0, nullptr),
            STYTCH_API_RATE_LIMITED);
  EXPECT_EQ(stytch_api_parse_error(503, nullptr, 0, &err),
            STYTCH_API_UNAVAILABLE);
  EXPECT_EQ(stytch_api_error_directive(&err), nullptr);
  EXPECT_EQ(stytch_api_error_directive(nullptr), nullptr);
  const std::string creds = ErrorBody(401, "unauthorized_credentials");
  EXPECT_EQ(stytch_api_parse_error(401, creds.data(), creds.size(), &err),
            STYTCH_API_UNAUTHORIZED);
  EXPECT_STREQ(stytch_api_error_directive(&err), kCredentials);
}

TEST(ApiTest, OtherHttpStatuses) {
  Ref<Session> s;
  for (int code : {0, 100, 204, 301, 302, 600, -1}) {
    EXPECT_EQ(Parse(code, "{}", &s), Status::kApiMisconfigured) << code;
  }
}

TEST(ApiTest, ErrorBodyNotJsonStillMaps) {
  Ref<Session> s;
  stytch_api_error_t err;
  EXPECT_EQ(Parse(502, "<html>Bad Gateway</html>", &s, &err),
            Status::kApiUnavailable);
  EXPECT_EQ(err.status_code, 502);
  EXPECT_STREQ(err.error_type, "");
  EXPECT_EQ(Parse(404, "", &s, nullptr), Status::kApiMisconfigured);
}

TEST(ApiTest, LongErrorFieldsAreTruncatedAndTerminated) {
  const std::string body = R"({"error_type":")" + std::string(500, 't') +
                           R"(","error_message":")" + std::string(500, 'm') +
                           "\"}";
  stytch_api_error_t err;
  Ref<Session> s;
  EXPECT_EQ(Parse(404, body, &s, &err), Status::kApiSessionNotFound);
  EXPECT_EQ(strlen(err.error_type), sizeof(err.error_type) - 1);
  EXPECT_EQ(strlen(err.error_message), sizeof(err.error_message) - 1);
}

TEST(ApiTest, Malformed200) {
  Ref<Session> s;
  for (const std::string& body :
       {std::string(""), std::string("not json"), std::string("[]"),
        std::string("{}"), std::string(R"({"session":"x"})"),
        std::string(R"({"session":{"user_id":"u"}})"),
        std::string(R"({"session":{"session_id":"s"}})"),
        std::string(R"({"session":{"session_id":"s","user_id":"u",)"
                    R"("roles":[1]}})"),
        std::string(R"({"session":{"session_id":"s","user_id":"u",)"
                    R"("custom_claims":[]}})"),
        std::string(R"({"session":{"session_id":"s","user_id":"u"},)"
                    R"("session_jwt":5})"),
        std::string(R"({"member_session":{"member_session_id":"s",)"
                    R"("member_id":"m"}})"),
        std::string(R"({"session":{"session_id":"s","user_id":"u"},)"
                    R"("member_session":{"member_session_id":"s",)"
                    R"("member_id":"m","organization_id":"o"}})"),
        std::string(R"({"session":{"session_id":"s","user_id":"u"},)"
                    R"("session":{"session_id":"t","user_id":"v"}})")}) {
    EXPECT_EQ(Parse(200, body, &s), Status::kApiResponseInvalid) << body;
    EXPECT_FALSE(s);
  }
  // The smallest acceptable body.
  EXPECT_EQ(Parse(200, R"({"session":{"session_id":"s"},"user_id":"u"})", &s),
            Status::kOk);
}

TEST(ApiTest, Oversized) {
  std::string body = kConsumer;
  body.insert(
      body.size() - 1,
      ",\"pad\":\"" + std::string(STYTCH_MAX_RESPONSE_SIZE, 'x') + "\"");
  Ref<Session> s;
  EXPECT_EQ(Parse(200, body, &s), Status::kApiResponseInvalid);
  EXPECT_FALSE(s);
  EXPECT_EQ(Parse(500, body, &s), Status::kApiUnavailable);
  EXPECT_EQ(Parse(429, body, &s), Status::kApiRateLimited);
  // No Stytch error is that large.
  stytch_api_error_t err;
  EXPECT_EQ(Parse(404, body, &s, &err), Status::kApiMisconfigured);
  EXPECT_STREQ(stytch_api_error_directive(&err), "stytch_api_url");
}

// Stytch's introspection answer (docs: Connected Apps, Introspect Token;
// stytch-node's IntrospectTokenActiveResponse), B2B with its organization.
const char kIntrospection[] = R"({
  "active": true, "aud": ["project-test-1"],
  "client_id": "connected-app-test-d731954d-dab3-4a2b-bdee-07f3ad1be888",
  "exp": 1738848103, "iat": 1738844503, "nbf": 1738844503,
  "iss": "https://login.example.com", "scope": "openid email read:documents",
  "sub": "member-test-32fc5024-9c09-4da3-bd2e-c9ce4da9375f",
  "token_type": "access_token",
  "https://stytch.com/organization": {
    "organization_id": "organization-test-1", "slug": "acme"},
  "plan": "pro", "jti": "j-1",
  "request_id": "request-id-test-b05c992f-ebdc-489d-a754-c7e70ba13141",
  "status_code": 200
})";

Status Introspect(int code, const std::string& body, Ref<Session>* s,
                  stytch_api_error_t* err = nullptr) {
  *s = Ref<Session>();
  return ParseIntrospectionResponse(code, body, s, err);
}

// The answer with member `name` replaced by the JSON `value`, or dropped
// for a null pointer.
std::string IntrospectionWith(const std::string& name, const char* value) {
  JsonPtr root = JsonParse(kIntrospection, STYTCH_MAX_RESPONSE_SIZE);
  EXPECT_TRUE(root);
  json_object_del(root.get(), name.c_str());
  if (value != nullptr) {
    JsonPtr v = JsonParse(std::string("[") + value + "]", 1 << 20);
    EXPECT_TRUE(v) << value;
    json_object_set(root.get(), name.c_str(), json_array_get(v.get(), 0));
  }
  return JsonDumpCompact(root.get());
}

TEST(IntrospectionTest, ActiveB2b) {
  Ref<Session> s;
  stytch_api_error_t err;
  ASSERT_EQ(Introspect(200, kIntrospection, &s, &err), Status::kOk);
  EXPECT_EQ(err.status_code, 200);
  EXPECT_EQ(s->kind(), STYTCH_KIND_OAUTH);
  EXPECT_TRUE(s->is_oauth());
  EXPECT_TRUE(s->is_b2b());
  EXPECT_EQ(F(*s, STYTCH_FIELD_SUBJECT),
            "member-test-32fc5024-9c09-4da3-bd2e-c9ce4da9375f");
  EXPECT_EQ(F(*s, STYTCH_FIELD_CLIENT_ID),
            "connected-app-test-d731954d-dab3-4a2b-bdee-07f3ad1be888");
  EXPECT_EQ(F(*s, STYTCH_FIELD_SCOPES), "openid email read:documents");
  EXPECT_EQ(F(*s, STYTCH_FIELD_ORGANIZATION_ID), "organization-test-1");
  EXPECT_EQ(F(*s, STYTCH_FIELD_ORGANIZATION_SLUG), "acme");
  EXPECT_EQ(F(*s, STYTCH_FIELD_ISSUER), "https://login.example.com");
  EXPECT_EQ(F(*s, STYTCH_FIELD_SESSION_ID), "");
  EXPECT_EQ(F(*s, STYTCH_FIELD_EXPIRES_AT), "2025-02-06T13:21:43Z");
  EXPECT_EQ(s->expires_at(), 1738848103);
  EXPECT_EQ(s->jwt_exp(), 1738848103);
  // Custom claims: what is neither registered, RFC 7662's nor Stytch's.
  EXPECT_EQ(F(*s, STYTCH_FIELD_CUSTOM_CLAIMS), R"({"plan":"pro"})");
  EXPECT_EQ(s->Claim("plan").value(), "pro");
  for (const char* hidden : {"scope", "client_id", "active", "token_type",
                             "request_id", "status_code", "jti", "sub"}) {
    EXPECT_FALSE(s->Claim(hidden)) << hidden;
  }
  EXPECT_EQ(F(*s, STYTCH_FIELD_AUTH_FACTORS), "[]");
  EXPECT_TRUE(s->roles().empty());
}

TEST(IntrospectionTest, ActiveConsumerMinimal) {
  Ref<Session> s;
  ASSERT_EQ(Introspect(200,
                       R"({"active":true,"sub":"user-test-1",)"
                       R"("client_id":"connected-app-1","scope":"",)"
                       R"("exp":1738848103})",
                       &s),
            Status::kOk);
  EXPECT_FALSE(s->is_b2b());
  EXPECT_EQ(F(*s, STYTCH_FIELD_SCOPES), "");
  EXPECT_EQ(F(*s, STYTCH_FIELD_CUSTOM_CLAIMS), "{}");
  // aud may be a string; a null iss is an absent one.
  ASSERT_EQ(
      Introspect(200, IntrospectionWith("aud", R"("project-test-1")"), &s),
      Status::kOk);
  ASSERT_EQ(Introspect(200, IntrospectionWith("iss", "null"), &s), Status::kOk);
  EXPECT_EQ(F(*s, STYTCH_FIELD_ISSUER), "");
  for (const char* member : {"aud", "iat", "nbf", "iss", "token_type",
                             "https://stytch.com/organization"}) {
    EXPECT_EQ(Introspect(200, IntrospectionWith(member, nullptr), &s),
              Status::kOk)
        << member;
  }
}

// RFC 7662: an inactive token is all the answer says; a refresh token is
// no access token whatever it grants.
TEST(IntrospectionTest, Inactive) {
  Ref<Session> s;
  EXPECT_EQ(
      Introspect(200, R"({"active":false,"request_id":"r","status_code":200})",
                 &s),
      Status::kApiTokenInactive);
  EXPECT_FALSE(s);
  EXPECT_EQ(Introspect(200, IntrospectionWith("active", "false"), &s),
            Status::kApiTokenInactive);
  EXPECT_FALSE(s);
  EXPECT_EQ(Introspect(
                200, IntrospectionWith("token_type", R"("refresh_token")"), &s),
            Status::kApiTokenInactive);
  EXPECT_FALSE(s);
  EXPECT_EQ(StatusAction(Status::kApiTokenInactive), Action::kUnauthorized);
  EXPECT_STREQ(StatusName(Status::kApiTokenInactive), "api_token_inactive");
}

TEST(IntrospectionTest, MalformedAnswers) {
  Ref<Session> s;
  const struct {
    const char* member;
    const char* value;
  } kBad[] = {
      {"active", nullptr},
      {"active", R"("true")"},
      {"active", "1"},
      {"active", "null"},
      {"sub", nullptr},
      {"sub", R"("")"},
      {"sub", "5"},
      {"client_id", nullptr},
      {"client_id", R"("")"},
      {"client_id", "[]"},
      {"scope", nullptr},
      {"scope", R"(["openid"])"},
      {"scope", "null"},
      {"exp", nullptr},
      {"exp", R"("1738848103")"},
      {"exp", "1738848103.5"},
      {"exp", "0"},
      {"exp", "-5"},
      {"exp", "null"},
      {"iat", R"("1")"},
      {"nbf", "1.5"},
      {"iss", "5"},
      {"aud", "5"},
      {"aud", R"(["a",1])"},
      {"aud", "{}"},
      {"token_type", "1"},
      {"https://stytch.com/organization", R"("organization-test-1")"},
      {"https://stytch.com/organization", R"({"slug":"acme"})"},
      {"https://stytch.com/organization", R"({"organization_id":""})"},
      {"https://stytch.com/organization",
       R"({"organization_id":"o","slug":5})"},
  };
  for (const auto& b : kBad) {
    const std::string body = IntrospectionWith(b.member, b.value);
    EXPECT_EQ(Introspect(200, body, &s), Status::kApiResponseInvalid) << body;
    EXPECT_FALSE(s) << body;
  }
  for (const char* body :
       {"", "null", "[]", "true", R"("active")", "{", "<html></html>",
        R"({"active":true,"active":true,"sub":"u","client_id":"c",)"
        R"("scope":"","exp":5})"}) {
    EXPECT_EQ(Introspect(200, body, &s), Status::kApiResponseInvalid) << body;
  }
}

// What a header would carry must be whole: an identity with a control
// character or a line separator is refused, other values are emptied.
TEST(IntrospectionTest, HostileValues) {
  Ref<Session> s;
  for (const char* member : {"sub", "client_id"}) {
    for (const char* v : {R"("u\r\nX-Injected: 1")", R"("u\u007f")",
                          R"("u\u2028")", R"("u\u0085")"}) {
      const std::string body = IntrospectionWith(member, v);
      EXPECT_EQ(Introspect(200, body, &s), Status::kIdentityInvalid) << body;
      EXPECT_FALSE(s);
    }
  }
  EXPECT_EQ(Introspect(200,
                       IntrospectionWith("https://stytch.com/organization",
                                         R"({"organization_id":"o\n"})"),
                       &s),
            Status::kIdentityInvalid);
  // A NUL would cut every C string short: no such answer parses.
  std::string nul = kIntrospection;
  nul.replace(nul.find("member-test-"), 12, R"(member\u0000)");
  EXPECT_EQ(Introspect(200, nul, &s), Status::kApiResponseInvalid);
  EXPECT_FALSE(s);
  ASSERT_EQ(
      Introspect(200, IntrospectionWith("scope", R"("openid\r\nX: 1")"), &s),
      Status::kOk);
  EXPECT_EQ(F(*s, STYTCH_FIELD_SCOPES), "");
  ASSERT_EQ(
      Introspect(200, IntrospectionWith("plan", R"({"k":"v\r\n\u007f"})"), &s),
      Status::kOk);
  EXPECT_EQ(F(*s, STYTCH_FIELD_CUSTOM_CLAIMS),
            R"({"plan":{"k":"v\r\n\u007f"}})");
  EXPECT_TRUE(HeaderSafe(F(*s, STYTCH_FIELD_CUSTOM_CLAIMS)));
}

// No string longer than a token could carry; the body as any answer.
TEST(IntrospectionTest, Sizes) {
  Ref<Session> s;
  const std::string at_limit =
      "\"" + std::string(STYTCH_MAX_TOKEN_SIZE, 'a') + "\"";
  const std::string beyond =
      "\"" + std::string(STYTCH_MAX_TOKEN_SIZE + 1, 'a') + "\"";
  for (const char* member : {"sub", "client_id", "scope", "iss"}) {
    EXPECT_EQ(Introspect(200, IntrospectionWith(member, at_limit.c_str()), &s),
              Status::kOk)
        << member;
    EXPECT_EQ(Introspect(200, IntrospectionWith(member, beyond.c_str()), &s),
              Status::kApiResponseInvalid)
        << member;
  }
  const std::string org = R"({"organization_id":)" + beyond + "}";
  EXPECT_EQ(Introspect(200,
                       IntrospectionWith("https://stytch.com/organization",
                                         org.c_str()),
                       &s),
            Status::kApiResponseInvalid);
  std::string body = kIntrospection;
  body.insert(
      body.size() - 1,
      ",\"pad\":\"" + std::string(STYTCH_MAX_RESPONSE_SIZE, 'x') + "\"");
  EXPECT_EQ(Introspect(200, body, &s), Status::kApiResponseInvalid);
  EXPECT_EQ(Introspect(404, body, &s), Status::kApiMisconfigured);
  std::string deep = kIntrospection;
  deep.insert(deep.size() - 1,
              ",\"deep\":" + std::string(40, '[') + std::string(40, ']'));
  EXPECT_EQ(Introspect(200, deep, &s), Status::kApiResponseInvalid);
}

// Errors are any endpoint's: the OAuth2 form included.
TEST(IntrospectionTest, Errors) {
  Ref<Session> s;
  stytch_api_error_t err;
  EXPECT_EQ(Introspect(401,
                       R"({"error":"invalid_token",)"
                       R"("error_description":"bad token"})",
                       &s, &err),
            Status::kApiSessionNotFound);
  EXPECT_STREQ(err.error_type, "invalid_token");
  EXPECT_STREQ(err.error_message, "bad token");
  EXPECT_EQ(Introspect(429, "", &s), Status::kApiRateLimited);
  EXPECT_EQ(Introspect(503, "", &s), Status::kApiUnavailable);
  EXPECT_EQ(Introspect(404, "<html>nope</html>", &s, &err),
            Status::kApiMisconfigured);
  EXPECT_EQ(Introspect(400,
                       R"({"status_code":400,"error_type":"route_not_found",)"
                       R"("error_message":"x"})",
                       &s, &err),
            Status::kApiMisconfigured);
  EXPECT_FALSE(s);
}

}  // namespace
}  // namespace stytch

TEST(ApiTest, DocumentDigestIgnoresPerAnswerMembers) {
  unsigned char a[32], b[32], c[32];
  ASSERT_EQ(stytch::DocumentDigest(R"({"keys":[{"kid":"k1","n":"AQ"}],)"
                           R"("request_id":"request-id-test-1","status_code":200})",
                           1 << 20, a),
            stytch::Status::kOk);
  ASSERT_EQ(stytch::DocumentDigest(R"({"status_code":200,"request_id":"request-id-test-2",)"
                           R"( "keys" : [ {"n":"AQ","kid":"k1"} ]})",
                           1 << 20, b),
            stytch::Status::kOk);
  EXPECT_EQ(0, memcmp(a, b, sizeof(a)));

  ASSERT_EQ(stytch::DocumentDigest(R"({"keys":[{"kid":"k2","n":"AQ"}],)"
                           R"("request_id":"request-id-test-1"})",
                           1 << 20, c),
            stytch::Status::kOk);
  EXPECT_NE(0, memcmp(a, c, sizeof(a)));

  EXPECT_EQ(stytch::DocumentDigest("[1]", 1 << 20, c), stytch::Status::kApiResponseInvalid);
  EXPECT_EQ(stytch::DocumentDigest("{", 1 << 20, c), stytch::Status::kApiResponseInvalid);
}
