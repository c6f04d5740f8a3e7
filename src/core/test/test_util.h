// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Helpers shared by the core tests: fixtures and hand-built tokens.

#ifndef STYTCH_CORE_TEST_TEST_UTIL_H_
#define STYTCH_CORE_TEST_TEST_UTIL_H_

#include <openssl/evp.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "stytch_core.h"

namespace stytch_test {

// The constants scripts/gen-core-fixtures mints with.
inline constexpr const char* kProject =
    "project-test-00000000-0000-0000-0000-000000000000";
inline constexpr int64_t kIat = 1760000000;
inline constexpr int64_t kExp = kIat + 300;
inline constexpr const char* kKid1 =
    "jwk-test-11111111-1111-1111-1111-111111111111";
inline constexpr const char* kKid2 =
    "jwk-test-22222222-2222-2222-2222-222222222222";

// Calls of operator new so far in this program (alloc_counter.cc).
size_t Allocations();

inline std::string Fixture(const std::string& rel) {
  std::ifstream in(std::string(STYTCH_FIXTURES_DIR) + "/" + rel,
                   std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + rel);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string Token(const std::string& name) {
  std::string t = Fixture("tokens/" + name + ".jwt");
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  return t;
}

inline std::string Jwks(const std::string& name) {
  return Fixture("jwks/" + name + ".json");
}

// base64url by OpenSSL's base64 plus the URL alphabet swap: independent of
// the encoder under test.
inline std::string B64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(in.data()),
                      static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

// An unsigned token: good enough for every check made before the
// signature, and proof that forgeries stop there.
inline std::string Forge(std::string_view header_json,
                         std::string_view payload_json,
                         std::string_view signature = "not a signature") {
  return B64(header_json) + "." + B64(payload_json) + "." + B64(signature);
}

inline std::string Rs256Header(const char* kid = kKid1) {
  return std::string("{\"alg\":\"RS256\",\"kid\":\"") + kid +
         "\",\"typ\":\"JWT\"}";
}

// The session as the shared API-result cache gives it back: serialized
// and deserialized.  nullptr when either step fails.
inline stytch_session_t* CacheRoundTrip(const stytch_session_t* s) {
  const size_t need = stytch_session_serialize(s, nullptr, 0);
  if (need == 0) return nullptr;
  std::string text(need, '\0');
  if (stytch_session_serialize(s, text.data(), need) != need) return nullptr;
  stytch_session_t* back = nullptr;
  if (stytch_session_deserialize(text.data(), text.size(), &back) !=
      STYTCH_OK) {
    return nullptr;
  }
  return back;
}

}  // namespace stytch_test

#endif  // STYTCH_CORE_TEST_TEST_UTIL_H_
