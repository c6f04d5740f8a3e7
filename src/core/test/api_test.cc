#include "api.h"

#include <gtest/gtest.h>

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

TEST(ApiTest, ErrorStatuses) {
  struct {
    int code;
    Status want;
    const char* type;
  } const cases[] = {
      {404, Status::kApiSessionNotFound, "session_not_found"},
      {400, Status::kApiSessionNotFound, "invalid_session_token"},
      {401, Status::kApiUnauthorized, "unauthorized_credentials"},
      // a 401 about the client's JWT is not our credentials' fault
      {401, Status::kApiSessionNotFound, "invalid_session_jwt"},
      {403, Status::kApiForbidden, "session_authorization_error"},
      {429, Status::kApiUnavailable, "too_many_requests"},
      {500, Status::kApiUnavailable, "internal_server_error"},
      {503, Status::kApiUnavailable, "unavailable"},
  };
  for (const auto& c : cases) {
    const std::string body = std::string(R"({"status_code":)") +
                             std::to_string(c.code) +
                             R"(,"request_id":"r","error_type":")" + c.type +
                             R"(","error_message":"Something.",)"
                             R"("error_url":"https://stytch.com/docs"})";
    Ref<Session> s;
    stytch_api_error_t err;
    EXPECT_EQ(Parse(c.code, body, &s, &err), c.want) << c.code;
    EXPECT_FALSE(s);
    EXPECT_EQ(err.status_code, c.code);
    EXPECT_STREQ(err.error_type, c.type);
    EXPECT_STREQ(err.error_message, "Something.");
  }
}

TEST(ApiTest, OtherHttpStatuses) {
  Ref<Session> s;
  for (int code : {0, 100, 204, 301, 302, 600, -1}) {
    EXPECT_EQ(Parse(code, "{}", &s), Status::kApiResponseInvalid) << code;
  }
  EXPECT_EQ(ApiStatusFromHttp(418), Status::kApiSessionNotFound);
  EXPECT_EQ(ApiStatusFromHttp(599), Status::kApiUnavailable);
}

TEST(ApiTest, ErrorBodyNotJsonStillMaps) {
  Ref<Session> s;
  stytch_api_error_t err;
  EXPECT_EQ(Parse(502, "<html>Bad Gateway</html>", &s, &err),
            Status::kApiUnavailable);
  EXPECT_EQ(err.status_code, 502);
  EXPECT_STREQ(err.error_type, "");
  EXPECT_EQ(Parse(404, "", &s, nullptr), Status::kApiSessionNotFound);
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
}

}  // namespace
}  // namespace stytch
