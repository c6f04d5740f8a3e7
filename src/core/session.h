// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The identity a verified JWT or a Stytch API answer carries, in one model
// for consumer and B2B sessions.

#ifndef STYTCH_CORE_SESSION_H_
#define STYTCH_CORE_SESSION_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json.h"
#include "jwt.h"
#include "ref.h"
#include "status.h"
#include "stytch_core.h"

namespace stytch {

class Session : public RefCounted {
 public:
  // What a session is made of.  The string_views point into strings of
  // `root` (API answers) or `jwt` (verified tokens), which the session
  // keeps, so building one copies no text.
  struct Parts {
    JsonPtr root;
    JsonPtr claims;  // introspection: the custom claims, an object of its own
    std::unique_ptr<JwtPayload> jwt;
    std::string_view subject;
    std::string_view session_id;
    std::string_view started_at;
    std::string_view last_accessed_at;
    std::string_view expires_at;
    std::string expires_at_from_exp;  // used when expires_at is empty
    std::string_view organization_id;
    std::string_view organization_slug;
    std::string_view session_jwt;
    std::string_view session_token;
    std::string_view issuer;
    std::string_view scopes;     // M2M, OAuth: the scope claim as written
    std::string_view client_id;  // OAuth: the client_id claim
    std::vector<std::string_view> roles;
    // JWT: custom claims are the non-reserved top-level members of the
    // payload.  API: they are the members of this object (may be null).
    bool claims_at_top_level = false;
    const json_t* custom_claims = nullptr;
    // API answers and the cache's copies: the object whose
    // authentication_factors and attributes members describe the session
    // (may be null).  A JWT's is its session claim, read when asked.
    const json_t* session_object = nullptr;
    int64_t expires_at_epoch = 0;
    int64_t jwt_exp = 0;
    bool b2b = false;
    int kind = STYTCH_KIND_SESSION;  // STYTCH_KIND_*, exactly one bit
  };

  explicit Session(Parts parts) : p_(std::move(parts)) {}

  // Never fails: an absent field is empty.  Roles and custom claims are
  // rendered on first use and kept, because most requests never ask.
  // Every value may go into a request header (proxy_set_header), so none
  // holds a byte below 0x20 or DEL: JSON text is escaped, and a string
  // with such a byte is given as empty.
  std::string_view Field(stytch_field_t field) const;

  // A custom claim: a string as its value, anything else as compact JSON.
  // nullopt when absent or reserved; empty for a string that is not
  // HeaderSafe.
  std::optional<std::string_view> Claim(std::string_view name) const;

  // Whether the JWT's "aud" (a string or an array of strings) holds
  // audience; false for a session that did not come from a JWT.
  bool HasAudience(std::string_view audience) const;

  bool HasRole(std::string_view role) const;
  const std::vector<std::string_view>& roles() const { return p_.roles; }
  std::string_view organization_id() const { return p_.organization_id; }
  int64_t expires_at() const { return p_.expires_at_epoch; }
  // The latest factor's last_authenticated_at; 0 when unknown.
  int64_t last_authenticated_at() const { return GetDetails().last_epoch; }
  // The session claim or object that holds the factors; nullptr if none.
  const json_t* SessionObject() const;
  int64_t jwt_exp() const { return p_.jwt_exp; }
  bool is_b2b() const { return p_.b2b; }
  int kind() const { return p_.kind; }
  bool is_m2m() const { return p_.kind == STYTCH_KIND_M2M; }
  bool is_oauth() const { return p_.kind == STYTCH_KIND_OAUTH; }
  // Whether subject, session id, client id and organization id are
  // HeaderSafe.
  bool IdentitySafe() const;
  std::string_view scopes() const { return p_.scopes; }

 private:
  // Not a custom claim: reserved (IsReservedClaim), an access token's
  // scope, or an OAuth token's client_id.
  bool IsHiddenClaim(std::string_view name) const;
  std::string_view RawField(stytch_field_t field) const;

  // What authentication_factors and attributes say, rendered together on
  // first use: most requests never ask.
  struct Details {
    std::string factor_types;
    std::string delivery_methods;
    std::string sso_connection_ids;
    std::string last_authenticated_at;
    int64_t last_epoch = 0;
    std::string factors_json;
    std::string ip_address;
    std::string user_agent;
  };
  const Details& GetDetails() const;

  // The object whose members are the claims: for a JWT the whole payload,
  // parsed by jansson on first use; nullptr when there is none.
  const json_t* ClaimsObject() const;
  // A verified payload, parsed by jansson on first use.
  const json_t* JwtRoot() const;

  Parts p_;
  mutable JsonPtr jwt_root_;
  // Lazily rendered.  Sessions live in one single-threaded worker, so the
  // mutation behind a const reference races with nothing.
  mutable std::optional<std::string> roles_text_;
  mutable std::optional<std::string> custom_claims_text_;
  mutable std::optional<Details> details_;
  // IdentitySafe()'s answer: the session never changes, and a cached one
  // is asked on every request.
  mutable std::optional<bool> identity_safe_;
  mutable std::map<std::string, std::string, std::less<>> claim_text_;
};

// Whether `v` can be a header value of one line: no byte below 0x20 (CR,
// LF, NUL ...), no DEL, no C1 control (U+0080 to U+009F, NEL among them)
// and no U+2028 or U+2029, which some parsers and loggers take for line
// ends.  `v` is UTF-8 (jansson checks it), so these are the only forms.
bool HeaderSafe(std::string_view v);

// Top-level claims that are not custom: the registered ones and, as in
// Stytch's Go SDK, every "https://stytch.com/" claim, present or future.
bool IsReservedClaim(std::string_view name);

// The kind of a verified payload (STYTCH_KIND_*).  With no
// "https://stytch.com/session" claim and a string "scope" claim it is an
// access token: of a Connected App (STYTCH_KIND_OAUTH) when it has a
// "client_id" claim, else of an M2M client (STYTCH_KIND_M2M).  Stytch
// mints M2M tokens with sub = the client id and no client_id claim
// (stytch-node's m2m.token documents their claims, and
// m2m.authenticateToken returns sub as the client id); Connected Apps
// tokens with sub = the user or member who granted access and the app in
// client_id (the Connected App access token object; idp.ts's
// introspection answers name it).  Anything else is a session token,
// valid or not.
int PayloadKind(const InsituJson& doc);

// Reads the B2B "https://stytch.com/organization" claim of an object
// (a payload, or an introspection answer given as jansson): absent is
// fine; otherwise it must be an object with a non-empty string
// organization_id and a slug that is a string, null or absent.
bool ReadOrganizationClaim(const InsituJson& doc, const JNode* root,
                           Session::Parts* p);
bool ReadOrganizationClaim(const json_t* root, Session::Parts* p);

// Builds a session from a verified payload.  An M2M token needs a
// non-empty string sub (kClaimInvalid otherwise) and has no session; an
// OAuth token a non-empty string sub and client_id, and the organization
// claim of B2B, read as for sessions (kClaimInvalid otherwise).  For
// a session token, the "https://stytch.com/session"
// claim must be an object with a non-empty string id; its timestamps, when
// present, RFC 3339 strings; roles absent, null or an array of strings.
// The B2B "https://stytch.com/organization" claim, when present, must hold
// a non-empty organization_id.  sub must be a non-empty string
// (kClaimInvalid otherwise).  `exp` (0: unknown) stands in for a missing
// expires_at.
//
// *out is set on failure too, to a session of what the payload plainly
// says (sub, iss, the session id): the token is Stytch's, and the caller
// logs who it was.  It must not be trusted.
Status SessionFromJwtPayload(std::unique_ptr<JwtPayload> payload, int64_t exp,
                             Ref<Session>* out);

// Roles from a JSON value: absent or null -> none; otherwise an array of
// strings (false for anything else).
bool ReadRoles(const json_t* roles, std::vector<std::string_view>* out);
bool ReadRoles(const InsituJson& doc, const JNode* roles,
               std::vector<std::string_view>* out);

}  // namespace stytch

#endif  // STYTCH_CORE_SESSION_H_
