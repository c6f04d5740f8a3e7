// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "session.h"

#include "rfc3339.h"

namespace stytch {
namespace {

constexpr std::string_view kStytchClaimPrefix = "https://stytch.com/";
constexpr const char* kSessionClaim = "https://stytch.com/session";
constexpr const char* kOrganizationClaim = "https://stytch.com/organization";

// A timestamp member: absent or null is empty; a string must be RFC 3339.
bool ReadTimestamp(const InsituJson& doc, const JNode* obj, const char* key,
                   std::string_view* out, int64_t* epoch = nullptr) {
  const JNode* v = doc.Get(obj, key);
  if (v == nullptr || v->type == JType::kNull) return true;
  if (v->type != JType::kString) return false;
  int64_t t;
  if (!ParseRfc3339(v->Str(), &t)) return false;
  *out = v->Str();
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

bool ReadRoles(const InsituJson& doc, const JNode* roles,
               std::vector<std::string_view>* out) {
  out->clear();
  if (roles == nullptr || roles->type == JType::kNull) return true;
  if (roles->type != JType::kArray) return false;
  out->reserve(roles->count);
  for (const JNode* r = doc.First(roles); r; r = doc.Next(r)) {
    if (r->type != JType::kString) return false;
    out->push_back(r->Str());
  }
  return true;
}

int PayloadKind(const InsituJson& doc) {
  const JNode* root = doc.root();
  if (doc.Get(root, kSessionClaim) != nullptr ||
      !doc.GetString(root, "scope").has_value()) {
    return STYTCH_KIND_SESSION;
  }
  // Present, of whatever type: a client_id that is no string makes an
  // invalid OAuth token, not an M2M token of another client.
  return doc.Get(root, "client_id") != nullptr ? STYTCH_KIND_OAUTH
                                               : STYTCH_KIND_M2M;
}

bool ReadOrganizationClaim(const InsituJson& doc, const JNode* root,
                           Session::Parts* p) {
  const JNode* org = doc.Get(root, kOrganizationClaim);
  if (org == nullptr) return true;
  const auto org_id = doc.GetString(org, "organization_id");
  if (org->type != JType::kObject || !org_id || org_id->empty()) {
    return false;
  }
  const JNode* slug = doc.Get(org, "slug");
  if (slug != nullptr && slug->type != JType::kString &&
      slug->type != JType::kNull) {
    return false;
  }
  p->organization_id = *org_id;
  if (slug != nullptr && slug->type == JType::kString) {
    p->organization_slug = slug->Str();
  }
  p->b2b = true;
  return true;
}

bool ReadOrganizationClaim(const json_t* root, Session::Parts* p) {
  const json_t* org = json_object_get(root, kOrganizationClaim);
  if (org == nullptr) return true;
  const auto org_id = JsonGetString(org, "organization_id");
  if (!json_is_object(org) || !org_id || org_id->empty()) return false;
  const json_t* slug = json_object_get(org, "slug");
  if (slug != nullptr && !json_is_string(slug) && !json_is_null(slug)) {
    return false;
  }
  p->organization_id = *org_id;
  if (json_is_string(slug)) p->organization_slug = JsonStringView(slug);
  p->b2b = true;
  return true;
}

namespace {

void ExpiresAtFromExp(int64_t exp, Session::Parts* p) {
  if (p->expires_at.empty() && exp > 0) {
    p->expires_at_from_exp = FormatRfc3339(exp);
    p->expires_at_epoch = exp;
  }
}

Status ReadJwtParts(const InsituJson& doc, int64_t exp, Session::Parts* p) {
  const JNode* root = doc.root();
  const auto sub = doc.GetString(root, "sub");
  if (!sub || sub->empty()) return Status::kClaimInvalid;
  p->subject = *sub;

  if (p->kind != STYTCH_KIND_SESSION) {
    // The token lives as long as exp says; there is no session behind it.
    p->scopes = *doc.GetString(root, "scope");
    ExpiresAtFromExp(exp, p);
    if (p->kind == STYTCH_KIND_M2M) return Status::kOk;
    const auto client_id = doc.GetString(root, "client_id");
    if (!client_id || client_id->empty()) return Status::kClaimInvalid;
    p->client_id = *client_id;
    return ReadOrganizationClaim(doc, root, p) ? Status::kOk
                                               : Status::kClaimInvalid;
  }

  const JNode* claim = doc.Get(root, kSessionClaim);
  if (claim == nullptr || claim->type != JType::kObject) {
    return Status::kSessionClaimInvalid;
  }
  const auto id = doc.GetString(claim, "id");
  if (!id || id->empty()) return Status::kSessionClaimInvalid;
  p->session_id = *id;
  if (!ReadTimestamp(doc, claim, "started_at", &p->started_at) ||
      !ReadTimestamp(doc, claim, "last_accessed_at", &p->last_accessed_at) ||
      !ReadTimestamp(doc, claim, "expires_at", &p->expires_at,
                     &p->expires_at_epoch) ||
      !ReadRoles(doc, doc.Get(claim, "roles"), &p->roles)) {
    return Status::kSessionClaimInvalid;
  }
  // Older tokens lack expires_at; the SDKs show exp in its place.
  ExpiresAtFromExp(exp, p);

  return ReadOrganizationClaim(doc, root, p) ? Status::kOk
                                             : Status::kSessionClaimInvalid;
}

}  // namespace

Status SessionFromJwtPayload(std::unique_ptr<JwtPayload> payload, int64_t exp,
                             Ref<Session>* out) {
  const InsituJson& doc = payload->doc;
  const JNode* root = doc.root();
  Session::Parts p;
  const int kind = PayloadKind(doc);
  p.kind = kind;
  const Status st = ReadJwtParts(doc, exp, &p);
  if (st != Status::kOk) {
    // Only what the payload plainly says, nothing half-read.
    p = Session::Parts();
    p.kind = kind;
    p.subject = doc.GetString(root, "sub").value_or(std::string_view());
    if (kind == STYTCH_KIND_OAUTH) {
      p.client_id =
          doc.GetString(root, "client_id").value_or(std::string_view());
    }
    const JNode* claim = doc.Get(root, kSessionClaim);
    if (claim != nullptr) {
      p.session_id = doc.GetString(claim, "id").value_or(std::string_view());
    }
  } else {
    p.claims_at_top_level = true;
  }
  p.issuer = doc.GetString(root, "iss").value_or(std::string_view());
  p.jwt_exp = exp;
  p.jwt = std::move(payload);
  *out = MakeRef<Session>(std::move(p));
  return st;
}

bool HeaderSafe(std::string_view v) {
  const size_t n = v.size();
  auto at = [&](size_t i) {
    return i < n ? static_cast<unsigned char>(v[i]) : 0;
  };
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = at(i);
    if (c < 0x20 || c == 0x7f) return false;
    if (c == 0xc2 && at(i + 1) >= 0x80 && at(i + 1) <= 0x9f) return false;
    if (c == 0xe2 && at(i + 1) == 0x80 &&
        (at(i + 2) == 0xa8 || at(i + 2) == 0xa9)) {
      return false;
    }
  }
  return true;
}

bool Session::IdentitySafe() const {
  if (!identity_safe_) {
    identity_safe_ = HeaderSafe(p_.subject) && HeaderSafe(p_.session_id) &&
                     HeaderSafe(p_.client_id) &&
                     HeaderSafe(p_.organization_id);
  }
  return *identity_safe_;
}

std::string_view Session::Field(stytch_field_t field) const {
  const std::string_view v = RawField(field);
  return HeaderSafe(v) ? v : std::string_view();
}

std::string_view Session::RawField(stytch_field_t field) const {
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
        json_t* claims = const_cast<json_t*>(ClaimsObject());
        if (p_.claims_at_top_level && claims != nullptr) {
          json_object_foreach(claims, key, value) {
            if (!IsHiddenClaim(key)) json_object_set(obj.get(), key, value);
          }
        } else if (claims != nullptr) {
          json_object_update(obj.get(), claims);
        }
        custom_claims_text_ = JsonDumpCompact(obj.get());
      }
      return *custom_claims_text_;
    case STYTCH_FIELD_SESSION_JWT:
      return p_.session_jwt;
    case STYTCH_FIELD_SESSION_TOKEN:
      return p_.session_token;
    case STYTCH_FIELD_ISSUER:
      return p_.issuer;
    case STYTCH_FIELD_CLIENT_ID:
      return p_.kind == STYTCH_KIND_M2M ? p_.subject : p_.client_id;
    case STYTCH_FIELD_SCOPES:
      return p_.scopes;
    case STYTCH_FIELD_FACTOR_TYPES:
      return GetDetails().factor_types;
    case STYTCH_FIELD_DELIVERY_METHODS:
      return GetDetails().delivery_methods;
    case STYTCH_FIELD_SSO_CONNECTION_IDS:
      return GetDetails().sso_connection_ids;
    case STYTCH_FIELD_LAST_AUTHENTICATED_AT:
      return GetDetails().last_authenticated_at;
    case STYTCH_FIELD_AUTH_FACTORS:
      return GetDetails().factors_json;
    case STYTCH_FIELD_IP_ADDRESS:
      return GetDetails().ip_address;
    case STYTCH_FIELD_USER_AGENT:
      return GetDetails().user_agent;
    default:
      return std::string_view();
  }
}

std::optional<std::string_view> Session::Claim(std::string_view name) const {
  if (p_.claims_at_top_level && IsHiddenClaim(name)) return std::nullopt;
  const json_t* claims = ClaimsObject();
  if (claims == nullptr) return std::nullopt;
  const json_t* v = json_object_getn(claims, name.data(), name.size());
  if (v == nullptr) return std::nullopt;
  if (json_is_string(v)) {
    const std::string_view text = JsonStringView(v);
    return HeaderSafe(text) ? text : std::string_view();
  }

  auto it = claim_text_.find(name);
  if (it == claim_text_.end()) {
    it = claim_text_.emplace(std::string(name), JsonDumpCompact(v)).first;
  }
  return std::string_view(it->second);
}

bool Session::IsHiddenClaim(std::string_view name) const {
  if (IsReservedClaim(name)) return true;
  if (p_.kind == STYTCH_KIND_SESSION) return false;
  return name == "scope" ||
         (p_.kind == STYTCH_KIND_OAUTH && name == "client_id");
}

const json_t* Session::JwtRoot() const {
  if (!jwt_root_ && p_.jwt) {
    // InsituJson accepted this text and accepts nothing jansson refuses,
    // so this parse succeeds; if it ever did not, the session would just
    // show no custom claims and no details.
    jwt_root_ = JsonParse(p_.jwt->text(), STYTCH_MAX_TOKEN_SIZE);
  }
  return json_is_object(jwt_root_.get()) ? jwt_root_.get() : nullptr;
}

bool Session::HasAudience(std::string_view audience) const {
  const json_t* aud = json_object_get(JwtRoot(), "aud");
  if (json_is_string(aud)) return JsonStringView(aud) == audience;
  size_t i;
  const json_t* v;
  json_array_foreach(aud, i, v) {
    if (json_is_string(v) && JsonStringView(v) == audience) return true;
  }
  return false;
}

const json_t* Session::ClaimsObject() const {
  if (!p_.claims_at_top_level) {
    return json_is_object(p_.custom_claims) ? p_.custom_claims : nullptr;
  }
  return JwtRoot();
}

const json_t* Session::SessionObject() const {
  // A JWT that is no valid session (claims_at_top_level unset) has no
  // details: only what it plainly says.
  const json_t* obj = p_.claims_at_top_level
                          ? JsonGetObject(JwtRoot(), kSessionClaim)
                          : p_.session_object;
  return json_is_object(obj) ? obj : nullptr;
}

namespace {

// Appends v to a comma-separated list unless it is empty or there already.
void AddDistinct(std::string* list, std::string_view v) {
  if (v.empty()) return;
  std::string_view rest = *list;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    if (rest.substr(0, comma) == v) return;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!list->empty()) *list += ',';
  list->append(v);
}

}  // namespace

const Session::Details& Session::GetDetails() const {
  if (details_) return *details_;
  Details d;
  const json_t* obj = SessionObject();
  const json_t* factors = JsonGetArray(obj, "authentication_factors");
  if (factors != nullptr) {
    size_t i;
    const json_t* f;
    json_array_foreach(factors, i, f) {
      if (!json_is_object(f)) continue;
      AddDistinct(&d.factor_types,
                  JsonGetString(f, "type").value_or(std::string_view()));
      AddDistinct(
          &d.delivery_methods,
          JsonGetString(f, "delivery_method").value_or(std::string_view()));
      // Stytch's SAMLSSOFactor and OIDCSSOFactor name the connection
      // provider_id (their id is the member's SSO registration).
      for (const char* sso : {"saml_sso_factor", "oidc_sso_factor"}) {
        AddDistinct(&d.sso_connection_ids,
                    JsonGetString(JsonGetObject(f, sso), "provider_id")
                        .value_or(std::string_view()));
      }
      const auto at = JsonGetString(f, "last_authenticated_at");
      int64_t epoch;
      if (at && ParseRfc3339(*at, &epoch) &&
          (d.last_authenticated_at.empty() || epoch > d.last_epoch)) {
        d.last_epoch = epoch;
        d.last_authenticated_at.assign(at->data(), at->size());
      }
    }
    d.factors_json = JsonDumpCompact(factors);
  } else {
    d.factors_json = "[]";
  }
  const json_t* attributes = JsonGetObject(obj, "attributes");
  d.ip_address = std::string(
      JsonGetString(attributes, "ip_address").value_or(std::string_view()));
  d.user_agent = std::string(
      JsonGetString(attributes, "user_agent").value_or(std::string_view()));
  details_ = std::move(d);
  return *details_;
}

bool Session::HasRole(std::string_view role) const {
  for (std::string_view r : p_.roles) {
    if (r == role) return true;
  }
  return false;
}

}  // namespace stytch
