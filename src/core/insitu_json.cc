// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "insitu_json.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace stytch {

namespace {

// Bytes that a JSON string holds as they are: printable ASCII other than
// the quote and the backslash.
constexpr std::array<bool, 256> MakePlainTable() {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = c != '"' && c != '\\';
  return t;
}

constexpr std::array<bool, 256> kPlain = MakePlainTable();

}  // namespace

class InsituJson::Parser {
 public:
  Parser(char* begin, char* end, std::vector<JNode>* nodes, int max_depth)
      : p_(begin), end_(end), nodes_(nodes), max_depth_(max_depth) {}

  bool Run() {
    SkipSpace();
    if (!Value(0)) return false;
    SkipSpace();
    return p_ == end_;
  }

 private:
  void SkipSpace() {
    while (p_ < end_ &&
           (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) {
      ++p_;
    }
  }

  bool Literal(const char* word, size_t len) {
    if (static_cast<size_t>(end_ - p_) < len || memcmp(p_, word, len) != 0) {
      return false;
    }
    p_ += len;
    return true;
  }

  uint32_t NewNode(JType type) {
    nodes_->emplace_back();
    nodes_->back().type = type;
    return static_cast<uint32_t>(nodes_->size() - 1);
  }

  bool Value(int depth) {
    if (p_ >= end_) return false;
    switch (*p_) {
      case '{':
        return Object(depth + 1);
      case '[':
        return Array(depth + 1);
      case '"': {
        const char* s;
        uint32_t len;
        if (!String(&s, &len)) return false;
        JNode& n = (*nodes_)[NewNode(JType::kString)];
        n.str = s;
        n.str_len = len;
        return true;
      }
      case 't':
        NewNode(JType::kTrue);
        return Literal("true", 4);
      case 'f':
        NewNode(JType::kFalse);
        return Literal("false", 5);
      case 'n':
        NewNode(JType::kNull);
        return Literal("null", 4);
      default:
        return Number();
    }
  }

  bool Number() {
    const char* start = p_;
    bool real = false;
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ >= end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    } else {
      return false;
    }
    if (p_ < end_ && *p_ == '.') {
      real = true;
      ++p_;
      const char* digits = p_;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      if (p_ == digits) return false;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      real = true;
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      const char* digits = p_;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      if (p_ == digits) return false;
    }
    const uint32_t i = NewNode(real ? JType::kReal : JType::kInteger);
    if (real) {
      // Only the type matters to callers, but a value out of double's
      // range is refused, as jansson does for overflow (and we, more
      // strictly, for underflow too).
      double d;
      const auto r = std::from_chars(start, p_, d);
      return r.ec == std::errc() && r.ptr == p_;
    }
    int64_t v;
    const auto r = std::from_chars(start, p_, v);
    if (r.ec != std::errc() || r.ptr != p_) return false;  // beyond int64
    (*nodes_)[i].integer = v;
    return true;
  }

  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool Hex4(const char* p, uint32_t* out) {
    if (end_ - p < 4) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const int h = Hex(p[i]);
      if (h < 0) return false;
      v = v << 4 | static_cast<uint32_t>(h);
    }
    *out = v;
    return true;
  }

  // Length of the valid UTF-8 sequence at p (RFC 3629 table 3.1), 0 if
  // invalid: no overlongs, no surrogates, nothing above U+10FFFF.
  size_t Utf8Length(const unsigned char* p) const {
    const auto* e = reinterpret_cast<const unsigned char*>(end_);
    auto cont = [&](const unsigned char* q, unsigned char lo,
                    unsigned char hi) { return q < e && *q >= lo && *q <= hi; };
    const unsigned char c = *p;
    if (c >= 0xC2 && c <= 0xDF) return cont(p + 1, 0x80, 0xBF) ? 2 : 0;
    if (c == 0xE0) {
      return cont(p + 1, 0xA0, 0xBF) && cont(p + 2, 0x80, 0xBF) ? 3 : 0;
    }
    if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      return cont(p + 1, 0x80, 0xBF) && cont(p + 2, 0x80, 0xBF) ? 3 : 0;
    }
    if (c == 0xED) {
      return cont(p + 1, 0x80, 0x9F) && cont(p + 2, 0x80, 0xBF) ? 3 : 0;
    }
    if (c == 0xF0) {
      return cont(p + 1, 0x90, 0xBF) && cont(p + 2, 0x80, 0xBF) &&
                     cont(p + 3, 0x80, 0xBF)
                 ? 4
                 : 0;
    }
    if (c >= 0xF1 && c <= 0xF3) {
      return cont(p + 1, 0x80, 0xBF) && cont(p + 2, 0x80, 0xBF) &&
                     cont(p + 3, 0x80, 0xBF)
                 ? 4
                 : 0;
    }
    if (c == 0xF4) {
      return cont(p + 1, 0x80, 0x8F) && cont(p + 2, 0x80, 0xBF) &&
                     cont(p + 3, 0x80, 0xBF)
                 ? 4
                 : 0;
    }
    return 0;
  }

  static char* PutUtf8(char* w, uint32_t cp) {
    if (cp < 0x80) {
      *w++ = static_cast<char>(cp);
    } else if (cp < 0x800) {
      *w++ = static_cast<char>(0xC0 | cp >> 6);
      *w++ = static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      *w++ = static_cast<char>(0xE0 | cp >> 12);
      *w++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *w++ = static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      *w++ = static_cast<char>(0xF0 | cp >> 18);
      *w++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      *w++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *w++ = static_cast<char>(0x80 | (cp & 0x3F));
    }
    return w;
  }

  // Decodes the string at p_ (on its opening quote) in place.  The decoded
  // form is never longer than the encoded one, so the writer trails the
  // reader and can end the string with a NUL where its closing quote was.
  bool String(const char** out, uint32_t* out_len) {
    char* r = ++p_;
    char* const start = r;
    // Most strings are plain ASCII with nothing to decode: skip over them
    // in place before the general loop.
    while (r < end_ && kPlain[static_cast<unsigned char>(*r)]) ++r;
    char* w = r;
    for (;;) {
      if (r >= end_) return false;
      const unsigned char c = static_cast<unsigned char>(*r);
      if (c == '"') break;
      if (c < 0x20) return false;
      if (c == '\\') {
        if (end_ - r < 2) return false;
        const char e = r[1];
        r += 2;
        switch (e) {
          case '"':
            *w++ = '"';
            break;
          case '\\':
            *w++ = '\\';
            break;
          case '/':
            *w++ = '/';
            break;
          case 'b':
            *w++ = '\b';
            break;
          case 'f':
            *w++ = '\f';
            break;
          case 'n':
            *w++ = '\n';
            break;
          case 'r':
            *w++ = '\r';
            break;
          case 't':
            *w++ = '\t';
            break;
          case 'u': {
            uint32_t cp;
            if (!Hex4(r, &cp)) return false;
            r += 4;
            if (cp == 0) return false;  // NUL would cut the C string
            if (cp >= 0xDC00 && cp <= 0xDFFF) return false;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              uint32_t lo;
              if (end_ - r < 6 || r[0] != '\\' || r[1] != 'u' ||
                  !Hex4(r + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                return false;
              }
              r += 6;
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            w = PutUtf8(w, cp);
            break;
          }
          default:
            return false;
        }
        continue;
      }
      if (c < 0x80) {
        *w++ = *r++;
        continue;
      }
      const size_t n = Utf8Length(reinterpret_cast<unsigned char*>(r));
      if (n == 0) return false;
      memmove(w, r, n);
      w += n;
      r += n;
    }
    *w = '\0';
    *out = start;
    *out_len = static_cast<uint32_t>(w - start);
    p_ = r + 1;
    return true;
  }

  bool Array(int depth) {
    if (depth > max_depth_) return false;
    const uint32_t self = NewNode(JType::kArray);
    ++p_;
    SkipSpace();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    uint32_t prev = 0, count = 0;
    for (;;) {
      const uint32_t child = static_cast<uint32_t>(nodes_->size());
      if (!Value(depth)) return false;
      Link(self, prev, child);
      prev = child;
      ++count;
      SkipSpace();
      if (p_ >= end_) return false;
      if (*p_ == ']') break;
      if (*p_ != ',') return false;
      ++p_;
      SkipSpace();
    }
    ++p_;
    (*nodes_)[self].count = count;
    return true;
  }

  bool Object(int depth) {
    if (depth > max_depth_) return false;
    const uint32_t self = NewNode(JType::kObject);
    ++p_;
    SkipSpace();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    uint32_t prev = 0, count = 0;
    for (;;) {
      if (p_ >= end_ || *p_ != '"') return false;
      const char* key;
      uint32_t key_len;
      if (!String(&key, &key_len)) return false;
      SkipSpace();
      if (p_ >= end_ || *p_ != ':') return false;
      ++p_;
      SkipSpace();
      const uint32_t child = static_cast<uint32_t>(nodes_->size());
      if (!Value(depth)) return false;
      (*nodes_)[child].key = key;
      (*nodes_)[child].key_len = key_len;
      Link(self, prev, child);
      prev = child;
      ++count;
      SkipSpace();
      if (p_ >= end_) return false;
      if (*p_ == '}') break;
      if (*p_ != ',') return false;
      ++p_;
      SkipSpace();
    }
    ++p_;
    (*nodes_)[self].count = count;
    return UniqueKeys(self);
  }

  void Link(uint32_t parent, uint32_t prev, uint32_t child) {
    if (prev == 0) {
      (*nodes_)[parent].first = child;
    } else {
      (*nodes_)[prev].next = child;
    }
  }

  // Two values for one key would let two readers see two different
  // tokens.  Small objects are compared pairwise; large ones sorted, so a
  // hostile object cannot cost quadratic time.
  bool UniqueKeys(uint32_t obj) {
    const std::vector<JNode>& n = *nodes_;
    const uint32_t count = n[obj].count;
    if (count < 2) return true;
    if (count <= 16) {
      for (uint32_t a = n[obj].first; a != 0; a = n[a].next) {
        for (uint32_t b = n[a].next; b != 0; b = n[b].next) {
          if (n[a].Key() == n[b].Key()) return false;
        }
      }
      return true;
    }
    std::vector<std::string_view> keys;
    keys.reserve(count);
    for (uint32_t a = n[obj].first; a != 0; a = n[a].next) {
      keys.push_back(n[a].Key());
    }
    std::sort(keys.begin(), keys.end());
    return std::adjacent_find(keys.begin(), keys.end()) == keys.end();
  }

  char* p_;
  char* const end_;
  std::vector<JNode>* nodes_;
  const int max_depth_;
};

bool InsituJson::Parse(std::string text, int max_depth, bool keep_text) {
  buf_ = std::move(text);
  const size_t n = buf_.size();
  text_len_ = 0;
  size_t start = 0;
  if (keep_text) {
    // The text, a NUL, and the copy to parse; appending from the string's
    // own bytes is safe, and needs no new buffer when it has the room.
    buf_.push_back('\0');
    buf_.append(buf_.data(), n);
    text_len_ = n;
    start = n + 1;
  }
  nodes_.clear();
  // A Stytch session payload holds about one value per 25-30 bytes; growth
  // covers denser documents.  The vector lives as long as the cached
  // session, so its spare capacity is memory held per cache entry.
  nodes_.reserve(n / 24 + 8);
  char* begin = buf_.data() + start;
  Parser parser(begin, begin + n, &nodes_, max_depth);
  if (!parser.Run()) {
    nodes_.clear();
    text_len_ = 0;
    return false;
  }
  return true;
}

const JNode* InsituJson::Get(const JNode* obj, std::string_view key) const {
  if (obj == nullptr || obj->type != JType::kObject) return nullptr;
  for (const JNode* m = First(obj); m != nullptr; m = Next(m)) {
    if (m->Key() == key) return m;
  }
  return nullptr;
}

std::optional<std::string_view> InsituJson::GetString(
    const JNode* obj, std::string_view key) const {
  const JNode* v = Get(obj, key);
  if (v == nullptr || v->type != JType::kString) return std::nullopt;
  return v->Str();
}

}  // namespace stytch
