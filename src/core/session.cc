#include "session.h"

#include "rfc3339.h"

namespace stytch {
namespace {

constexpr std::string_view kStytchClaimPrefix = "https://stytch.com/";
constexpr const char* kSessionClaim = "https://stytch.com/session";
constexpr const char* kOrganizationClaim = "https://stytch.com/organization";

// A timestamp member: absent or null is empty; a string must be RFC 3339.
bool ReadTimestamp(const json_t* obj, const char* key, std::string_view* out,
                   int64_t* epoch = nullptr) {
  const json_t* v = json_object_get(obj, key);
  if (v == nullptr || json_is_null(v)) return true;
  if (!json_is_string(v)) return false;
  int64_t t;
  if (!ParseRfc3339(JsonStringView(v), &t)) return false;
  *out = JsonStringView(v);
  if (epoch) *epoch = t;
  return true;
}

}  // namespace

bool IsReservedClaim(std::string_view name) {
  static constexpr std::string_view kRegistered[] = {"aud", "exp", "iat", "iss",
                                                     "jti", "nbf", "sub"};
  for (std::string_view r : kRegistered) {
    if (name == r) return true;
  }
  return name.substr(0, kStytchClaimPrefix.size()) == kStytchClaimPrefix;
}

bool ReadRoles(const json_t* roles, std::vector<std::string_view>* out) {
  out->clear();
  if (roles == nullptr || json_is_null(roles)) return true;
  if (!json_is_array(roles)) return false;
  out->reserve(json_array_size(roles));
  size_t i;
  const json_t* r;
  json_array_foreach(roles, i, r) {
    if (!json_is_string(r)) return false;
    out->push_back(JsonStringView(r));
  }
  return true;
}

Status SessionFromJwtPayload(JsonPtr payload, int64_t exp, Ref<Session>* out) {
  Session::Parts p;
  const json_t* root = payload.get();

  const auto sub = JsonGetString(root, "sub");
  if (!sub || sub->empty()) return Status::kClaimInvalid;
  p.subject = *sub;

  const json_t* claim = JsonGetObject(root, kSessionClaim);
  if (claim == nullptr) return Status::kSessionClaimInvalid;
  const auto id = JsonGetString(claim, "id");
  if (!id || id->empty()) return Status::kSessionClaimInvalid;
  p.session_id = *id;
  if (!ReadTimestamp(claim, "started_at", &p.started_at) ||
      !ReadTimestamp(claim, "last_accessed_at", &p.last_accessed_at) ||
      !ReadTimestamp(claim, "expires_at", &p.expires_at,
                     &p.expires_at_epoch) ||
      !ReadRoles(json_object_get(claim, "roles"), &p.roles)) {
    return Status::kSessionClaimInvalid;
  }
  if (p.expires_at.empty()) {
    // Older tokens lack expires_at; the SDKs show exp in its place.
    p.expires_at_from_exp = FormatRfc3339(exp);
    p.expires_at_epoch = exp;
  }

  if (const json_t* org = json_object_get(root, kOrganizationClaim)) {
    const auto org_id = JsonGetString(org, "organization_id");
    if (!json_is_object(org) || !org_id || org_id->empty()) {
      return Status::kSessionClaimInvalid;
    }
    const json_t* slug = json_object_get(org, "slug");
    if (slug != nullptr && !json_is_string(slug) && !json_is_null(slug)) {
      return Status::kSessionClaimInvalid;
    }
    p.organization_id = *org_id;
    if (json_is_string(slug)) p.organization_slug = JsonStringView(slug);
    p.b2b = true;
  }

  p.claims_at_top_level = true;
  p.jwt_exp = exp;
  p.root = std::move(payload);
  *out = MakeRef<Session>(std::move(p));
  return Status::kOk;
}

std::string_view Session::Field(stytch_field_t field) const {
  switch (field) {
    case STYTCH_FIELD_SUBJECT:
      return p_.subject;
    case STYTCH_FIELD_SESSION_ID:
      return p_.session_id;
    case STYTCH_FIELD_STARTED_AT:
      return p_.started_at;
    case STYTCH_FIELD_LAST_ACCESSED_AT:
      return p_.last_accessed_at;
    case STYTCH_FIELD_EXPIRES_AT:
      return p_.expires_at.empty() ? std::string_view(p_.expires_at_from_exp)
                                   : p_.expires_at;
    case STYTCH_FIELD_ROLES:
      if (!roles_text_) {
        std::string text;
        for (std::string_view r : p_.roles) {
          if (!text.empty()) text += ',';
          text.append(r);
        }
        roles_text_ = std::move(text);
      }
      return *roles_text_;
    case STYTCH_FIELD_ORGANIZATION_ID:
      return p_.organization_id;
    case STYTCH_FIELD_ORGANIZATION_SLUG:
      return p_.organization_slug;
    case STYTCH_FIELD_CUSTOM_CLAIMS:
      if (!custom_claims_text_) {
        JsonPtr obj(json_object());
        if (!obj) throw std::bad_alloc();
        const char* key;
        json_t* value;
        if (p_.claims_at_top_level) {
          json_object_foreach(p_.root.get(), key, value) {
            if (!IsReservedClaim(key)) json_object_set(obj.get(), key, value);
          }
        } else if (json_is_object(p_.custom_claims)) {
          json_object_update(obj.get(), const_cast<json_t*>(p_.custom_claims));
        }
        custom_claims_text_ = JsonDumpCompact(obj.get());
      }
      return *custom_claims_text_;
    case STYTCH_FIELD_SESSION_JWT:
      return p_.session_jwt;
    case STYTCH_FIELD_SESSION_TOKEN:
      return p_.session_token;
    default:
      return std::string_view();
  }
}

std::optional<std::string_view> Session::Claim(std::string_view name) const {
  const json_t* v = nullptr;
  if (p_.claims_at_top_level) {
    if (IsReservedClaim(name)) return std::nullopt;
    v = json_object_getn(p_.root.get(), name.data(), name.size());
  } else if (json_is_object(p_.custom_claims)) {
    v = json_object_getn(p_.custom_claims, name.data(), name.size());
  }
  if (v == nullptr) return std::nullopt;
  if (json_is_string(v)) return JsonStringView(v);

  auto it = claim_text_.find(name);
  if (it == claim_text_.end()) {
    it = claim_text_.emplace(std::string(name), JsonDumpCompact(v)).first;
  }
  return std::string_view(it->second);
}

bool Session::HasRole(std::string_view role) const {
  for (std::string_view r : p_.roles) {
    if (r == role) return true;
  }
  return false;
}

}  // namespace stytch
