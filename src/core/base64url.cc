// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "base64url.h"

#include <array>
#include <cstdint>

namespace stytch {
namespace {

constexpr uint8_t kInvalid = 0xff;

constexpr std::array<uint8_t, 256> MakeDecodeTable() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = kInvalid;
  for (int i = 0; i < 26; ++i) {
    t['A' + i] = static_cast<uint8_t>(i);
    t['a' + i] = static_cast<uint8_t>(26 + i);
  }
  for (int i = 0; i < 10; ++i) t['0' + i] = static_cast<uint8_t>(52 + i);
  t['-'] = 62;
  t['_'] = 63;
  return t;
}

constexpr std::array<uint8_t, 256> kDecode = MakeDecodeTable();

// The same values placed where they go in a group's 24 bits, one table for
// each of the group's four characters; an invalid character sets bit 31,
// so that one test after OR-ing the four checks them all.
struct GroupTables {
  std::array<uint32_t, 256> at[4];
};

constexpr GroupTables MakeGroupTables() {
  GroupTables g{};
  for (int pos = 0; pos < 4; ++pos) {
    for (int c = 0; c < 256; ++c) {
      const uint8_t v = kDecode[c];
      g.at[pos][c] = v == kInvalid ? 0x80000000u
                                   : static_cast<uint32_t>(v) << (18 - 6 * pos);
    }
  }
  return g;
}

constexpr GroupTables kGroup = MakeGroupTables();
constexpr char kEncode[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

inline uint8_t At(std::string_view in, size_t i) {
  return kDecode[static_cast<unsigned char>(in[i])];
}

}  // namespace

bool Base64UrlDecode(std::string_view in, unsigned char* out, size_t* out_len) {
  const size_t n = in.size();
  // One leftover character carries only 6 bits: no byte string encodes so.
  if (n % 4 == 1) return false;

  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  size_t o = 0;
  size_t i = 0;
  // Two groups at a time: their tables are looked up independently, and
  // one test checks the eight characters.
  for (; i + 8 <= n; i += 8, o += 6) {
    const uint32_t v = kGroup.at[0][p[i]] | kGroup.at[1][p[i + 1]] |
                       kGroup.at[2][p[i + 2]] | kGroup.at[3][p[i + 3]];
    const uint32_t w = kGroup.at[0][p[i + 4]] | kGroup.at[1][p[i + 5]] |
                       kGroup.at[2][p[i + 6]] | kGroup.at[3][p[i + 7]];
    if ((v | w) & 0x80000000u) return false;
    out[o] = static_cast<unsigned char>(v >> 16);
    out[o + 1] = static_cast<unsigned char>(v >> 8);
    out[o + 2] = static_cast<unsigned char>(v);
    out[o + 3] = static_cast<unsigned char>(w >> 16);
    out[o + 4] = static_cast<unsigned char>(w >> 8);
    out[o + 5] = static_cast<unsigned char>(w);
  }
  for (; i + 4 <= n; i += 4, o += 3) {
    const uint32_t v = kGroup.at[0][p[i]] | kGroup.at[1][p[i + 1]] |
                       kGroup.at[2][p[i + 2]] | kGroup.at[3][p[i + 3]];
    if (v & 0x80000000u) return false;
    out[o] = static_cast<unsigned char>(v >> 16);
    out[o + 1] = static_cast<unsigned char>(v >> 8);
    out[o + 2] = static_cast<unsigned char>(v);
  }
  const size_t rest = n - i;
  if (rest == 2) {
    const uint32_t a = At(in, i), b = At(in, i + 1);
    if ((a | b) & 0x80) return false;
    // The 4 low bits of b fall outside the byte: they must be zero, or two
    // spellings would decode to the same byte.
    if (b & 0x0f) return false;
    out[o++] = static_cast<unsigned char>(a << 2 | b >> 4);
  } else if (rest == 3) {
    const uint32_t a = At(in, i), b = At(in, i + 1), c = At(in, i + 2);
    if ((a | b | c) & 0x80) return false;
    if (c & 0x03) return false;
    const uint32_t v = a << 10 | b << 4 | c >> 2;
    out[o++] = static_cast<unsigned char>(v >> 8);
    out[o++] = static_cast<unsigned char>(v);
  }
  *out_len = o;
  return true;
}

bool Base64UrlDecode(std::string_view in, std::string* out) {
  out->resize(Base64UrlMaxDecodedSize(in.size()));
  size_t len = 0;
  if (!Base64UrlDecode(in, reinterpret_cast<unsigned char*>(out->data()),
                       &len)) {
    out->clear();
    return false;
  }
  out->resize(len);
  return true;
}

bool Base64UrlValid(std::string_view in) {
  const size_t n = in.size();
  if (n % 4 == 1) return false;
  // Branch-free over the whole input (the table marks invalid bytes with
  // the top bit): this runs over every token, valid or not.
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  uint8_t acc = 0;
  for (size_t i = 0; i < n; ++i) acc |= kDecode[p[i]];
  if (acc & 0x80) return false;
  switch (n % 4) {
    case 2:
      return (At(in, n - 1) & 0x0f) == 0;
    case 3:
      return (At(in, n - 1) & 0x03) == 0;
    default:
      return true;
  }
}

std::string Base64UrlEncode(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = p[i] << 16 | p[i + 1] << 8 | p[i + 2];
    out += kEncode[v >> 18];
    out += kEncode[(v >> 12) & 63];
    out += kEncode[(v >> 6) & 63];
    out += kEncode[v & 63];
  }
  if (in.size() - i == 1) {
    const uint32_t v = p[i] << 16;
    out += kEncode[v >> 18];
    out += kEncode[(v >> 12) & 63];
  } else if (in.size() - i == 2) {
    const uint32_t v = p[i] << 16 | p[i + 1] << 8;
    out += kEncode[v >> 18];
    out += kEncode[(v >> 12) & 63];
    out += kEncode[(v >> 6) & 63];
  }
  return out;
}

}  // namespace stytch
