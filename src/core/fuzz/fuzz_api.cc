// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// sessions/authenticate answers, success and error bodies alike.

#include <cstdint>
#include <string_view>

#include "api.h"
#include "fuzz_session.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The first byte picks the HTTP status, so one corpus covers both paths.
  static const int kCodes[] = {200, 200, 200, 404, 401, 403,
                               429, 500, 302, 400, 405, 0};
  const int code = kCodes[data[0] % (sizeof(kCodes) / sizeof(kCodes[0]))];
  const std::string_view body(reinterpret_cast<const char*>(data + 1),
                              size - 1);
  stytch::Ref<stytch::Session> s;
  stytch_api_error_t err;
  const stytch::Status st =
      stytch::ParseAuthenticateResponse(code, body, &s, &err);
  if ((st == stytch::Status::kOk) != static_cast<bool>(s)) __builtin_trap();
  if (err.error_type[sizeof(err.error_type) - 1] != '\0') __builtin_trap();
  if (err.error_message[sizeof(err.error_message) - 1] != '\0') {
    __builtin_trap();
  }
  // A directive names what to fix exactly when the answer is ours to fix.
  const bool ours = stytch::StatusAction(st) == stytch::Action::kError;
  if ((stytch_api_error_directive(&err) != nullptr) != (ours && code != 200)) {
    __builtin_trap();
  }
  for (const char* text : {err.error_type, err.error_message}) {
    if (!stytch::HeaderSafe(text)) __builtin_trap();
  }
  if (s) {
    for (int f = 0; f <= STYTCH_FIELD_MAX; ++f) {
      s->Field(static_cast<stytch_field_t>(f));
    }
    s->Claim("plan");
    stytch_fuzz::CheckSession(*s);
  }
  return 0;
}
