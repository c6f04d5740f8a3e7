// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "claims.h"

#include <limits>

namespace stytch {
namespace {

// Claims come from the token, so "exp + leeway" must not be able to wrap
// around into the past or the future.
int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) {
    return b > 0 ? std::numeric_limits<int64_t>::max()
                 : std::numeric_limits<int64_t>::min();
  }
  return r;
}

int64_t SaturatingSub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) {
    return b < 0 ? std::numeric_limits<int64_t>::max()
                 : std::numeric_limits<int64_t>::min();
  }
  return r;
}

int64_t Leeway(const VerifyParams& p) { return p.leeway > 0 ? p.leeway : 0; }

// 0: absent; 1: an integer, in *out; -1: present but not an integer.
int ReadNumericDate(const InsituJson& payload, const char* name, int64_t* out) {
  const JNode* v = payload.Get(payload.root(), name);
  if (v == nullptr) return 0;
  if (v->type != JType::kInteger) return -1;
  *out = v->integer;
  return 1;
}

}  // namespace

std::string TrimTrailingSlashes(std::string_view url) {
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  return std::string(url);
}

Issuers Issuers::Default(std::string_view project_id,
                         std::string_view api_url) {
  Issuers out;
  out.values_.push_back("stytch.com/" + std::string(project_id));
  std::string base = TrimTrailingSlashes(api_url);
  if (!base.empty()) out.values_.push_back(std::move(base));
  return out;
}

Issuers Issuers::Explicit(const std::vector<std::string>& list) {
  Issuers out;
  out.trim_token_ = true;
  for (const std::string& iss : list) {
    std::string v = TrimTrailingSlashes(iss);
    if (!v.empty()) out.values_.push_back(std::move(v));
  }
  return out;
}

bool Issuers::Accepts(std::string_view iss) const {
  if (trim_token_) {
    while (!iss.empty() && iss.back() == '/') iss.remove_suffix(1);
    if (iss.empty()) return false;
  }
  for (const std::string& v : values_) {
    if (iss == v) return true;
  }
  return false;
}

Status CheckIssuer(const InsituJson& payload, const Issuers& accepted) {
  const auto iss = payload.GetString(payload.root(), "iss");
  return iss && accepted.Accepts(*iss) ? Status::kOk
                                       : Status::kClaimIssuerMismatch;
}

Status CheckAudience(const InsituJson& payload, std::string_view project_id) {
  const JNode* aud = payload.Get(payload.root(), "aud");
  if (aud == nullptr) return Status::kClaimAudienceMismatch;
  if (aud->type == JType::kString) {
    return aud->Str() == project_id ? Status::kOk
                                    : Status::kClaimAudienceMismatch;
  }
  if (aud->type == JType::kArray) {
    for (const JNode* v = payload.First(aud); v; v = payload.Next(v)) {
      if (v->type == JType::kString && v->Str() == project_id) {
        return Status::kOk;
      }
    }
  }
  return Status::kClaimAudienceMismatch;
}

Status ReadTimeClaims(const InsituJson& payload, TimeClaims* out) {
  if (ReadNumericDate(payload, "exp", &out->exp) != 1) {
    return Status::kClaimInvalid;
  }
  const int nbf = ReadNumericDate(payload, "nbf", &out->nbf);
  const int iat = ReadNumericDate(payload, "iat", &out->iat);
  if (nbf < 0 || iat < 0) return Status::kClaimInvalid;
  out->has_nbf = nbf == 1;
  out->has_iat = iat == 1;
  return Status::kOk;
}

Status CheckNotBefore(const TimeClaims& t, const VerifyParams& p) {
  const int64_t horizon = SaturatingAdd(p.now, Leeway(p));
  if (t.has_nbf && t.nbf > horizon) return Status::kClaimNotYetValid;
  if (t.has_iat && t.iat > horizon) return Status::kClaimNotYetValid;
  return Status::kOk;
}

Status CheckFreshness(const TimeClaims& t, const VerifyParams& p) {
  if (p.now >= SaturatingAdd(t.exp, Leeway(p))) return Status::kJwtExpired;
  if (p.max_token_age >= 0) {
    if (!t.has_iat) return Status::kClaimInvalid;
    if (SaturatingSub(p.now, t.iat) >= p.max_token_age) {
      return Status::kJwtTooOld;
    }
  }
  return Status::kOk;
}

}  // namespace stytch
