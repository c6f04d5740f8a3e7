// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// What every session a fuzz target builds must satisfy: each field and
// claim can go into a request header, and the API-result cache's copy
// reads back the same.

#ifndef STYTCH_CORE_FUZZ_FUZZ_SESSION_H_
#define STYTCH_CORE_FUZZ_FUZZ_SESSION_H_

#include <string>
#include <string_view>

#include "session.h"
#include "stytch_core.h"

namespace stytch_fuzz {

inline void CheckSession(const stytch::Session& s) {
  static const char* const kClaims[] = {"email", "plan", "a", "sub", "scope"};
  for (int f = 0; f <= STYTCH_FIELD_MAX; ++f) {
    if (!stytch::HeaderSafe(s.Field(static_cast<stytch_field_t>(f)))) {
      __builtin_trap();
    }
  }
  for (const char* name : kClaims) {
    const auto v = s.Claim(name);
    if (v && !stytch::HeaderSafe(*v)) __builtin_trap();
  }

  const auto* c = reinterpret_cast<const stytch_session_t*>(&s);
  const size_t need = stytch_session_serialize(c, nullptr, 0);
  if (need == 0) return;  // too large to keep: not written
  std::string text(need, '\0');
  if (stytch_session_serialize(c, text.data(), need) != need) __builtin_trap();
  stytch_session_t* back = nullptr;
  if (stytch_session_deserialize(text.data(), text.size(), &back) !=
      STYTCH_OK) {
    __builtin_trap();
  }
  const auto* b = reinterpret_cast<const stytch::Session*>(back);
  for (int f = 0; f < STYTCH_FIELD_MAX; ++f) {
    if (f == STYTCH_FIELD_SESSION_JWT || f == STYTCH_FIELD_SESSION_TOKEN) {
      continue;
    }
    const auto field = static_cast<stytch_field_t>(f);
    if (b->Field(field) != s.Field(field)) __builtin_trap();
  }
  for (const char* name : kClaims) {
    if (b->Claim(name) != s.Claim(name)) __builtin_trap();
  }
  if (b->is_b2b() != s.is_b2b() || b->kind() != s.kind() ||
      b->expires_at() != s.expires_at() ||
      b->last_authenticated_at() != s.last_authenticated_at() ||
      b->roles() != s.roles()) {
    __builtin_trap();
  }
  stytch_session_release(back);
}

}  // namespace stytch_fuzz

#endif  // STYTCH_CORE_FUZZ_FUZZ_SESSION_H_
