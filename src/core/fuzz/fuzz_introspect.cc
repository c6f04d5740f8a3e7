// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// RFC 7662 introspection answers of Connected Apps, success and error
// bodies alike.

#include <cstdint>
#include <string_view>

#include "api.h"
#include "fuzz_session.h"
#include "scopes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The first byte picks the HTTP status, so one corpus covers both paths.
  static const int kCodes[] = {200, 200, 200, 200, 401, 400, 403, 429, 500};
  const int code = kCodes[data[0] % (sizeof(kCodes) / sizeof(kCodes[0]))];
  const std::string_view body(reinterpret_cast<const char*>(data + 1),
                              size - 1);
  stytch::Ref<stytch::Session> s;
  stytch_api_error_t err;
  const stytch::Status st =
      stytch::ParseIntrospectionResponse(code, body, &s, &err);
  // A session exactly on success, and always an OAuth one.
  if ((st == stytch::Status::kOk) != static_cast<bool>(s)) __builtin_trap();
  if (err.error_type[sizeof(err.error_type) - 1] != '\0') __builtin_trap();
  if (err.error_message[sizeof(err.error_message) - 1] != '\0') {
    __builtin_trap();
  }
  for (const char* text : {err.error_type, err.error_message}) {
    if (!stytch::HeaderSafe(text)) __builtin_trap();
  }
  if (s) {
    if (!s->is_oauth() || !s->IdentitySafe() ||
        s->Field(STYTCH_FIELD_SUBJECT).empty() ||
        s->Field(STYTCH_FIELD_CLIENT_ID).empty() || s->expires_at() <= 0) {
      __builtin_trap();
    }
    // The token's own scopes always meet themselves.
    if (stytch::CheckScopes(*s, s->scopes()) != stytch::Status::kOk) {
      __builtin_trap();
    }
    stytch_fuzz::CheckSession(*s);
  }
  return 0;
}
