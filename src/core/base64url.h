// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Strict base64url (RFC 4648 section 5) as JWS requires it (RFC 7515).

#ifndef STYTCH_CORE_BASE64URL_H_
#define STYTCH_CORE_BASE64URL_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace stytch {

// Upper bound of the decoded size of `len` input characters.
constexpr size_t Base64UrlMaxDecodedSize(size_t len) { return len / 4 * 3 + 2; }

// Decodes `in` into *out (replacing its content).  Refuses padding,
// whitespace, the '+' '/' alphabet and any non-canonical encoding (a length
// of 4n+1, or set bits below the last full byte): JWS has exactly one
// encoding per byte string, and accepting others would let one signed token
// be spelt many ways, each a new cache entry.
bool Base64UrlDecode(std::string_view in, std::string* out);

// Same, into a caller buffer of at least Base64UrlMaxDecodedSize(in.size())
// bytes; *out_len gets the decoded length.
bool Base64UrlDecode(std::string_view in, unsigned char* out, size_t* out_len);

// Only checks what Base64UrlDecode would accept.
bool Base64UrlValid(std::string_view in);

std::string Base64UrlEncode(std::string_view in);

}  // namespace stytch

#endif  // STYTCH_CORE_BASE64URL_H_
