// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// jansson behind RAII and the limits every untrusted document gets.

#ifndef STYTCH_CORE_JSON_H_
#define STYTCH_CORE_JSON_H_

#include <jansson.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace stytch {

struct JsonDeleter {
  void operator()(json_t* j) const noexcept { json_decref(j); }
};

// Owns one jansson reference.
using JsonPtr = std::unique_ptr<json_t, JsonDeleter>;

inline JsonPtr JsonShare(json_t* j) { return JsonPtr(json_incref(j)); }

// No Stytch document nests deeper than about 6; jansson's own limit is
// 2048, deep enough to make a hostile document cost real stack and time.
inline constexpr int kMaxJsonDepth = 32;

enum class JsonError { kNone, kTooLarge, kTooDeep, kSyntax };

// Parses untrusted text.  Size is checked before anything else, depth by a
// pre-scan before jansson sees a byte, duplicate keys are refused (two
// values for "aud" or "kid" would let different readers see different
// tokens), and so are NUL characters inside strings, because every string
// is later used as a C string.
JsonPtr JsonParse(std::string_view text, size_t max_size,
                  JsonError* error = nullptr, int max_depth = kMaxJsonDepth);

// Depth of the deepest array/object; -1 when it exceeds `limit`.  Strings
// are skipped, so brackets inside them do not count.
int JsonDepth(std::string_view text, int limit);

// Compact text; keys sorted so that equal objects give equal text.  No
// byte below 0x20, no DEL, no C1 control and no U+2028 or U+2029 (each is
// escaped): the text may go into a header as one line.
std::string JsonDumpCompact(const json_t* j);

// Typed lookups: absent and mistyped both give nullopt / nullptr.
std::optional<std::string_view> JsonGetString(const json_t* obj,
                                              const char* key);
inline std::string_view JsonStringView(const json_t* s) {
  return std::string_view(json_string_value(s), json_string_length(s));
}
const json_t* JsonGetObject(const json_t* obj, const char* key);
const json_t* JsonGetArray(const json_t* obj, const char* key);

}  // namespace stytch

#endif  // STYTCH_CORE_JSON_H_
