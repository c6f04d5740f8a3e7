#include "api.h"

#include <cstring>

#include "base64url.h"
#include "json.h"
#include "jwt.h"
#include "rfc3339.h"

namespace stytch {
namespace {

// The error's text goes into logs: control bytes become '?', so that an
// answer cannot write lines of its own.
void CopyTruncated(char* dst, size_t cap, std::string_view src) {
  const size_t n = src.size() < cap - 1 ? src.size() : cap - 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(src[i]);
    dst[i] = c < 0x20 || c == 0x7f ? '?' : src[i];
  }
  dst[n] = '\0';
}

// An optional string member: absent or null is empty; other types fail.
bool OptString(const json_t* obj, const char* key, std::string_view* out) {
  const json_t* v = json_object_get(obj, key);
  if (v == nullptr || json_is_null(v)) return true;
  if (!json_is_string(v)) return false;
  *out = JsonStringView(v);
  return true;
}

bool ReqString(const json_t* obj, const char* key, std::string_view* out) {
  const auto v = JsonGetString(obj, key);
  if (!v || v->empty()) return false;
  *out = *v;
  return true;
}

// The members the consumer Session and the B2B MemberSession share.
bool ReadCommon(const json_t* s, Session::Parts* p) {
  if (!OptString(s, "started_at", &p->started_at) ||
      !OptString(s, "last_accessed_at", &p->last_accessed_at) ||
      !OptString(s, "expires_at", &p->expires_at) ||
      !ReadRoles(json_object_get(s, "roles"), &p->roles)) {
    return false;
  }
  const json_t* custom = json_object_get(s, "custom_claims");
  if (custom != nullptr && !json_is_null(custom) && !json_is_object(custom)) {
    return false;
  }
  p->custom_claims = json_is_object(custom) ? custom : nullptr;
  // The session may end later than any JWT; a bad timestamp is Stytch's
  // problem, not a reason to refuse a valid session, so it stays 0.
  if (!p->expires_at.empty() &&
      !ParseRfc3339(p->expires_at, &p->expires_at_epoch)) {
    p->expires_at_epoch = 0;
  }
  return true;
}

Status ParseSuccess(std::string_view body, Ref<Session>* out) {
  JsonPtr root = JsonParse(body, STYTCH_MAX_RESPONSE_SIZE);
  if (!json_is_object(root.get())) return Status::kApiResponseInvalid;

  Session::Parts p;
  const json_t* r = root.get();
  const json_t* consumer = JsonGetObject(r, "session");
  const json_t* member = JsonGetObject(r, "member_session");
  // Both shapes at once cannot come from Stytch; refuse to guess.
  if ((consumer == nullptr) == (member == nullptr)) {
    return Status::kApiResponseInvalid;
  }
  if (consumer != nullptr) {
    if (!ReqString(consumer, "session_id", &p.session_id) ||
        !ReadCommon(consumer, &p)) {
      return Status::kApiResponseInvalid;
    }
    if (!ReqString(consumer, "user_id", &p.subject) &&
        !ReqString(r, "user_id", &p.subject)) {
      return Status::kApiResponseInvalid;
    }
  } else {
    if (!ReqString(member, "member_session_id", &p.session_id) ||
        !ReadCommon(member, &p)) {
      return Status::kApiResponseInvalid;
    }
    if (!ReqString(member, "member_id", &p.subject) &&
        !ReqString(r, "member_id", &p.subject)) {
      return Status::kApiResponseInvalid;
    }
    if (!ReqString(member, "organization_id", &p.organization_id) &&
        !ReqString(r, "organization_id", &p.organization_id)) {
      return Status::kApiResponseInvalid;
    }
    if (const json_t* org = JsonGetObject(r, "organization")) {
      if (!OptString(org, "organization_slug", &p.organization_slug)) {
        return Status::kApiResponseInvalid;
      }
    }
    p.b2b = true;
  }
  p.session_object = consumer != nullptr ? consumer : member;
  if (!OptString(r, "session_jwt", &p.session_jwt) ||
      !OptString(r, "session_token", &p.session_token)) {
    return Status::kApiResponseInvalid;
  }
  p.jwt_exp = UnverifiedJwtExp(p.session_jwt);
  p.root = std::move(root);
  *out = MakeRef<Session>(std::move(p));
  return Status::kOk;
}

void ParseError(int http_status, std::string_view body,
                stytch_api_error_t* error) {
  error->status_code = http_status;
  JsonPtr root = JsonParse(body, STYTCH_MAX_RESPONSE_SIZE);
  if (!json_is_object(root.get())) return;
  if (const auto t = JsonGetString(root.get(), "error_type")) {
    CopyTruncated(error->error_type, sizeof(error->error_type), *t);
  }
  if (const auto m = JsonGetString(root.get(), "error_message")) {
    CopyTruncated(error->error_message, sizeof(error->error_message), *m);
  }
}

}  // namespace

Status ApiStatusFromHttp(int http_status) {
  if (http_status == 200) return Status::kOk;
  // Our own project credentials were refused: no user can fix that.
  if (http_status == 401) return Status::kApiUnauthorized;
  if (http_status == 403) return Status::kApiForbidden;
  if (http_status == 429 || (http_status >= 500 && http_status <= 599)) {
    return Status::kApiUnavailable;
  }
  // 404 session_not_found and the other 4xx are about the session the
  // client sent (expired, revoked, malformed): the client is not signed in.
  if (http_status >= 400 && http_status <= 499) {
    return Status::kApiSessionNotFound;
  }
  return Status::kApiResponseInvalid;
}

Status ParseAuthenticateResponse(int http_status, std::string_view body,
                                 Ref<Session>* out, stytch_api_error_t* error) {
  if (error != nullptr) memset(error, 0, sizeof(*error));
  if (body.size() > STYTCH_MAX_RESPONSE_SIZE) {
    if (error != nullptr) error->status_code = http_status;
    // An oversized success cannot be read; an oversized error still says
    // what its status says.
    return http_status == 200 ? Status::kApiResponseInvalid
                              : ApiStatusFromHttp(http_status);
  }
  Status st = ApiStatusFromHttp(http_status);
  if (st != Status::kOk) {
    stytch_api_error_t local;
    stytch_api_error_t* e = error != nullptr ? error : &local;
    memset(e, 0, sizeof(*e));
    ParseError(http_status, body, e);
    // A 401 is about our credentials only when Stytch says so; a 401 about
    // the token the client sent (a JWT Stytch cannot verify) is the
    // client's problem, not a misconfiguration.
    if (st == Status::kApiUnauthorized && e->error_type[0] != '\0' &&
        strcmp(e->error_type, "unauthorized_credentials") != 0) {
      st = Status::kApiSessionNotFound;
    }
    return st;
  }
  if (error != nullptr) error->status_code = http_status;
  return ParseSuccess(body, out);
}

int64_t UnverifiedJwtExp(std::string_view jwt) {
  JwsSegments seg;
  if (SplitJws(jwt, &seg) != Status::kOk) return 0;
  std::unique_ptr<JwtPayload> payload;
  if (ParseJwtPayload(seg.payload, &payload) != Status::kOk) return 0;
  const JNode* exp = payload->doc.Get(payload->root(), "exp");
  return exp != nullptr && exp->type == JType::kInteger ? exp->integer : 0;
}

}  // namespace stytch
