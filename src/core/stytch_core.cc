// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The extern "C" facade.  Every function is noexcept and catches
// everything: an exception unwinding into NGINX's C frames would terminate
// the worker.  Allocation failure becomes STYTCH_NO_MEMORY (or NULL),
// anything else STYTCH_INTERNAL_ERROR.

#include "stytch_core.h"

// A plain "--add-dynamic-module" build compiles the core with NGINX's $CC
// and flags, without -std: the compiler's default dialect must do.
#if __cplusplus < 201703L
#error "the core needs C++17: use GCC 11 or later, or build with the project's Makefile"
#endif

#include <cstring>
#include <new>
#include <string_view>

#include "api.h"
#include "rbac.h"
#include "scopes.h"
#include "session.h"
#include "status.h"
#include "verifier.h"
#include "verify.h"

using stytch::Ref;
using stytch::Session;
using stytch::Status;

struct stytch_verifier_s {
  explicit stytch_verifier_s(stytch::VerifierConfig conf)
      : verifier(std::move(conf)) {}
  stytch::Verifier verifier;
};

struct stytch_policy_s {
  stytch::Policy policy;
};

namespace {

// The session handle is the Session itself: stytch_session_s is never
// defined, only converted to and from.
Session* FromC(stytch_session_t* s) { return reinterpret_cast<Session*>(s); }
const Session* FromC(const stytch_session_t* s) {
  return reinterpret_cast<const Session*>(s);
}
stytch_session_t* ToC(Session* s) {
  return reinterpret_cast<stytch_session_t*>(s);
}

std::string_view View(const char* p, size_t len) {
  return p == nullptr ? std::string_view() : std::string_view(p, len);
}

// Runs fn, turning exceptions into statuses, and leaves OpenSSL's error
// queue empty whatever happened.
template <typename Fn>
stytch_status_t Guard(Fn&& fn) noexcept {
  try {
    return stytch::ToC(fn());
  } catch (const std::bad_alloc&) {
    stytch::ClearOpenSslErrors();
    return STYTCH_NO_MEMORY;
  } catch (...) {
    stytch::ClearOpenSslErrors();
    return STYTCH_INTERNAL_ERROR;
  }
}

}  // namespace

extern "C" {

const char* stytch_status_name(stytch_status_t status) {
  return stytch::StatusName(static_cast<Status>(status));
}

stytch_action_t stytch_status_action(stytch_status_t status) {
  return static_cast<stytch_action_t>(
      stytch::StatusAction(static_cast<Status>(status)));
}

stytch_session_t* stytch_session_retain(stytch_session_t* session) {
  if (session != nullptr) FromC(session)->Retain();
  return session;
}

void stytch_session_release(stytch_session_t* session) {
  if (session != nullptr) FromC(session)->Release();
}

const char* stytch_session_field(const stytch_session_t* session,
                                 stytch_field_t field, size_t* len) {
  std::string_view v;
  if (session != nullptr) {
    try {
      v = FromC(session)->Field(field);
    } catch (...) {
      v = std::string_view();
    }
  }
  if (len != nullptr) *len = v.size();
  // Every view points at NUL-terminated storage (jansson strings or
  // std::string), so data() is a C string too; the literal covers "empty".
  return v.empty() ? "" : v.data();
}

int stytch_session_has_audience(const stytch_session_t* session,
                                const char* audience, size_t len) {
  if (session == nullptr || audience == nullptr) return 0;
  try {
    return FromC(session)->HasAudience(std::string_view(audience, len)) ? 1
                                                                        : 0;
  } catch (...) {
    return 0;
  }
}

const char* stytch_session_claim(const stytch_session_t* session,
                                 const char* name, size_t name_len,
                                 size_t* len) {
  if (session == nullptr || name == nullptr) return nullptr;
  try {
    const auto v = FromC(session)->Claim(std::string_view(name, name_len));
    if (!v) return nullptr;
    if (len != nullptr) *len = v->size();
    return v->empty() ? "" : v->data();
  } catch (...) {
    return nullptr;
  }
}

int stytch_session_has_role(const stytch_session_t* session, const char* role,
                            size_t len) {
  if (session == nullptr || role == nullptr) return 0;
  return FromC(session)->HasRole(std::string_view(role, len)) ? 1 : 0;
}

int64_t stytch_session_expires_at(const stytch_session_t* session) {
  return session == nullptr ? 0 : FromC(session)->expires_at();
}

int64_t stytch_session_last_authenticated_at(const stytch_session_t* session) {
  if (session == nullptr) return 0;
  try {
    return FromC(session)->last_authenticated_at();
  } catch (...) {
    return 0;
  }
}

int64_t stytch_session_jwt_exp(const stytch_session_t* session) {
  return session == nullptr ? 0 : FromC(session)->jwt_exp();
}

int stytch_session_is_b2b(const stytch_session_t* session) {
  return session != nullptr && FromC(session)->is_b2b() ? 1 : 0;
}

int stytch_session_is_m2m(const stytch_session_t* session) {
  return session != nullptr && FromC(session)->is_m2m() ? 1 : 0;
}

int stytch_session_kind(const stytch_session_t* session) {
  return session == nullptr ? 0 : FromC(session)->kind();
}

int stytch_session_identity_safe(const stytch_session_t* session) {
  return session != nullptr && FromC(session)->IdentitySafe() ? 1 : 0;
}

stytch_status_t stytch_scopes_check(const stytch_session_t* session,
                                    const char* required, size_t len) {
  if (session == nullptr) return STYTCH_INTERNAL_ERROR;
  return Guard([&] {
    return stytch::CheckScopes(*FromC(session), View(required, len));
  });
}

stytch_verifier_t* stytch_verifier_create(const stytch_verifier_conf_t* conf) {
  if (conf == nullptr) return nullptr;
  try {
    stytch::VerifierConfig c;
    c.project_id = std::string(View(conf->project_id, conf->project_id_len));
    c.api_url = std::string(View(conf->api_url, conf->api_url_len));
    if (conf->nissuers > 0) {
      if (conf->issuers == nullptr) return nullptr;
      c.issuers.emplace();
      for (size_t i = 0; i < conf->nissuers; ++i) {
        c.issuers->emplace_back(
            View(conf->issuers[i].data, conf->issuers[i].len));
      }
    }
    c.cache_size = conf->cache_size;
    c.log = stytch::Logger(conf->log, conf->log_ctx);
    return new stytch_verifier_s(std::move(c));
  } catch (...) {
    stytch::ClearOpenSslErrors();
    return nullptr;
  }
}

void stytch_verifier_free(stytch_verifier_t* verifier) { delete verifier; }

stytch_status_t stytch_verifier_set_jwks(stytch_verifier_t* verifier,
                                         const char* json, size_t len,
                                         size_t* nkeys) {
  if (nkeys != nullptr) *nkeys = 0;
  if (verifier == nullptr) return STYTCH_INTERNAL_ERROR;
  return Guard(
      [&] { return verifier->verifier.SetJwks(View(json, len), nkeys); });
}

int stytch_verifier_has_keys(const stytch_verifier_t* verifier) {
  return verifier != nullptr && verifier->verifier.has_keys() ? 1 : 0;
}

uint64_t stytch_verifier_signature_checks(const stytch_verifier_t* verifier) {
  return verifier != nullptr ? verifier->verifier.signature_checks() : 0;
}

stytch_status_t stytch_verifier_verify(stytch_verifier_t* verifier,
                                       const char* token, size_t len,
                                       const stytch_verify_params_t* params,
                                       stytch_session_t** session,
                                       int* cached) {
  if (session != nullptr) *session = nullptr;
  if (cached != nullptr) *cached = 0;
  if (verifier == nullptr || params == nullptr || session == nullptr) {
    return STYTCH_INTERNAL_ERROR;
  }
  if (token == nullptr || len == 0) return STYTCH_TOKEN_MISSING;
  return Guard([&] {
    stytch::VerifyParams p;
    p.now = params->now;
    p.leeway = params->leeway;
    p.max_token_age = params->max_token_age;
    p.kinds = params->kinds;
    Ref<Session> s;
    bool hit = false;
    const Status st =
        verifier->verifier.Verify(std::string_view(token, len), p, &s, &hit);
    if (cached != nullptr) *cached = hit ? 1 : 0;
    *session = ToC(s.Leak());
    return st;
  });
}

stytch_status_t stytch_api_parse_authenticate(int http_status, const char* body,
                                              size_t len,
                                              stytch_session_t** session,
                                              stytch_api_error_t* error) {
  if (session != nullptr) *session = nullptr;
  return Guard([&] {
    Ref<Session> s;
    const Status st = stytch::ParseAuthenticateResponse(
        http_status, View(body, len), &s, error);
    if (st == Status::kOk) {
      if (session == nullptr) return Status::kInternalError;
      *session = ToC(s.Leak());
    }
    return st;
  });
}

stytch_status_t stytch_api_parse_introspection(int http_status,
                                               const char* body, size_t len,
                                               stytch_session_t** session,
                                               stytch_api_error_t* error) {
  if (session != nullptr) *session = nullptr;
  return Guard([&] {
    Ref<Session> s;
    const Status st = stytch::ParseIntrospectionResponse(
        http_status, View(body, len), &s, error);
    if (st == Status::kOk) {
      if (session == nullptr) return Status::kInternalError;
      *session = ToC(s.Leak());
    }
    return st;
  });
}

stytch_status_t stytch_api_parse_error(int http_status, const char* body,
                                       size_t len, stytch_api_error_t* error) {
  return Guard([&] {
    return stytch::ParseApiError(http_status, View(body, len), error);
  });
}

const char* stytch_api_error_directive(const stytch_api_error_t* error) {
  if (error == nullptr) return nullptr;
  const size_t n = strnlen(error->error_type, sizeof(error->error_type));
  return stytch::ApiErrorDirective(error->status_code,
                                   std::string_view(error->error_type, n));
}

stytch_status_t stytch_doc_digest(const char* json, size_t len,
                                  unsigned char digest[STYTCH_DOC_DIGEST_SIZE]) {
  static_assert(STYTCH_DOC_DIGEST_SIZE == stytch::kSha256Size);
  return Guard([&] {
    return stytch::DocumentDigest(View(json, len), STYTCH_MAX_RESPONSE_SIZE,
                                  digest);
  });
}

stytch_policy_t* stytch_policy_parse(const char* json, size_t len,
                                     stytch_status_t* status) {
  stytch_policy_t* out = nullptr;
  const stytch_status_t st = Guard([&] {
    auto policy = std::make_unique<stytch_policy_s>();
    const Status s = stytch::Policy::Parse(View(json, len), &policy->policy);
    if (s == Status::kOk) out = policy.release();
    return s;
  });
  if (status != nullptr) *status = st;
  return out;
}

stytch_status_t stytch_policy_add_org(stytch_policy_t* policy, const char* json,
                                      size_t len) {
  if (policy == nullptr) return STYTCH_INTERNAL_ERROR;
  return Guard([&] { return policy->policy.AddOrg(View(json, len)); });
}

void stytch_policy_free(stytch_policy_t* policy) { delete policy; }

stytch_status_t stytch_policy_check(const stytch_policy_t* policy,
                                    const stytch_session_t* session,
                                    const char* resource, size_t resource_len,
                                    const char* action, size_t action_len,
                                    const char* organization_id,
                                    size_t organization_id_len) {
  if (policy == nullptr || session == nullptr) return STYTCH_INTERNAL_ERROR;
  return Guard([&] {
    const std::string_view org(
        organization_id == nullptr ? "" : organization_id,
        organization_id == nullptr ? 0 : organization_id_len);
    return policy->policy.Check(*FromC(session), View(resource, resource_len),
                                View(action, action_len),
                                organization_id != nullptr ? &org : nullptr);
  });
}

}  // extern "C"
