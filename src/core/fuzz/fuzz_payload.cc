// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The in-situ JSON reader of verified payloads, checked against jansson:
// whatever the reader accepts as an object, jansson must accept too (it
// renders the custom claims later).  Accepted payloads then go through the
// claim checks and the session model.

#include <jansson.h>

#include <cstdint>
#include <string>

#include "claims.h"
#include "fuzz_session.h"
#include "jwt.h"
#include "session.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::unique_ptr<stytch::JwtPayload> payload;
  if (stytch::ParseJwtPayloadJson(text, &payload) != stytch::Status::kOk) {
    return 0;
  }
  json_error_t err;
  json_t* j =
      json_loadb(text.data(), text.size(), JSON_REJECT_DUPLICATES, &err);
  if (j == nullptr) __builtin_trap();  // the reader accepted more than jansson
  json_decref(j);
  // The text kept for jansson is the text given, byte for byte.
  if (payload->text() != text) __builtin_trap();

  stytch::CheckIssuer(payload->doc,
                      stytch::Issuers::Default("p", "https://x/"));
  stytch::CheckIssuer(payload->doc,
                      stytch::Issuers::Explicit({"https://x/", "", "/"}));
  stytch::CheckAudience(payload->doc, "p");
  stytch::TimeClaims t;
  if (stytch::ReadTimeClaims(payload->doc, &t) == stytch::Status::kOk) {
    stytch::VerifyParams p;
    p.now = 1760000010;
    p.leeway = 5;
    p.max_token_age = 60;
    stytch::CheckNotBefore(t, p);
    stytch::CheckFreshness(t, p);
  }
  stytch::Ref<stytch::Session> s;
  // Set on failure too: such sessions go to the logs.
  stytch::SessionFromJwtPayload(std::move(payload), t.exp, &s);
  if (s) {
    for (int f = 0; f <= STYTCH_FIELD_MAX; ++f) {
      s->Field(static_cast<stytch_field_t>(f));
    }
    s->Claim("a");
    stytch_fuzz::CheckSession(*s);
  }
  return 0;
}
