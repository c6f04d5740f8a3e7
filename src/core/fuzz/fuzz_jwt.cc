// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The whole verification path on arbitrary tokens, with a real key set and
// the token cache on.  Tokens from the seed corpus carry valid signatures,
// so mutations reach the header and claim checks too.  A verdict the cache
// gives must be the one a verifier without a cache gives: a token differing
// from a cached one in any byte must not be taken for it.

#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "fuzz_session.h"
#include "scopes.h"
#include "verifier.h"

namespace {

std::unique_ptr<stytch::Verifier> verifier;
std::unique_ptr<stytch::Verifier> uncached;  // the same, without a cache

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  stytch::VerifierConfig c;
  c.project_id = "project-test-00000000-0000-0000-0000-000000000000";
  c.api_url = "https://test.stytch.com";
  stytch::VerifierConfig u = c;
  c.cache_size = 4;
  verifier = std::make_unique<stytch::Verifier>(std::move(c));
  uncached = std::make_unique<stytch::Verifier>(std::move(u));
  const std::string jwks =
      ReadFile(std::string(STYTCH_FIXTURES_DIR) + "/jwks/good.json");
  if (verifier->SetJwks(jwks, nullptr) != stytch::Status::kOk ||
      uncached->SetJwks(jwks, nullptr) != stytch::Status::kOk) {
    __builtin_trap();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  stytch::VerifyParams p;
  p.now = 1760000010;
  p.max_token_age = size % 2 ? 300 : -1;
  p.kinds = static_cast<unsigned>(size / 2 % 4);
  stytch::Ref<stytch::Session> s;
  bool cached;
  const stytch::Status st = verifier->Verify(token, p, &s, &cached);
  if (st == stytch::Status::kOk && !s) __builtin_trap();
  if (cached) {
    stytch::Ref<stytch::Session> again;
    bool hit;
    if (uncached->Verify(token, p, &again, &hit) != st || hit) {
      __builtin_trap();
    }
  }
  if (s) {
    for (int f = 0; f <= STYTCH_FIELD_MAX; ++f) {
      s->Field(static_cast<stytch_field_t>(f));
    }
    s->Claim("email");
    stytch_fuzz::CheckSession(*s);
    stytch::CheckScopes(*s, token.substr(0, 64));
  }
  return 0;
}
