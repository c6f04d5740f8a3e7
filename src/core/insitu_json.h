// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// A strict, in-situ JSON reader for the one document on the hot path: the
// payload of a session JWT whose signature has just been verified.
//
// jansson parses that ~500-byte payload in about 4.5 us, more than the whole
// budget the core has on top of the RSA operation, because it allocates
// every key and value.  This reader decodes strings in place inside a
// buffer it owns (NUL-terminating each one), and stores values in one
// vector: one allocation per document.  Everything else (JWT headers, JWKS,
// policies, API answers, and the rendering of custom claims) stays with
// jansson.
//
// It accepts a subset of what jansson accepts, never more, so that the
// payload text can always be handed to jansson later: RFC 8259 grammar,
// UTF-8 validated as RFC 3629 has it, no \u0000, no unpaired surrogates,
// integers within int64, reals within double (no overflow or underflow),
// duplicate keys refused, nesting at most max_depth.

#ifndef STYTCH_CORE_INSITU_JSON_H_
#define STYTCH_CORE_INSITU_JSON_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stytch {

enum class JType : uint8_t {
  kNull,
  kFalse,
  kTrue,
  kInteger,
  kReal,
  kString,
  kArray,
  kObject,
};

struct JNode {
  JType type = JType::kNull;
  uint32_t next = 0;   // next sibling (array element or object member); 0: none
  uint32_t first = 0;  // first child of an array or object; 0: none
  uint32_t count = 0;  // children of an array or object
  // Member name when the parent is an object; NUL-terminated.
  const char* key = nullptr;
  uint32_t key_len = 0;
  // String value, NUL-terminated.
  const char* str = nullptr;
  uint32_t str_len = 0;
  int64_t integer = 0;

  std::string_view Key() const { return std::string_view(key, key_len); }
  std::string_view Str() const { return std::string_view(str, str_len); }
};

class InsituJson {
 public:
  InsituJson() = default;
  // Nodes point into buf_, which a move could relocate (short strings live
  // inside the object).
  InsituJson(const InsituJson&) = delete;
  InsituJson& operator=(const InsituJson&) = delete;

  // Takes the text and parses it; false on any error, after which the
  // document is empty.  With keep_text, text() gives the text as it was:
  // it is kept before the copy that the parse decodes in place, in the
  // same buffer (one allocation when `text` has room for both, 2n+1 bytes).
  bool Parse(std::string text, int max_depth, bool keep_text = false);

  // The text given to Parse with keep_text; empty otherwise.
  std::string_view text() const {
    return std::string_view(buf_.data(), text_len_);
  }

  const JNode* root() const { return nodes_.empty() ? nullptr : &nodes_[0]; }
  const JNode* First(const JNode* n) const { return At(n->first); }
  const JNode* Next(const JNode* n) const { return At(n->next); }

  // The member `key` of an object; nullptr when absent or not an object.
  const JNode* Get(const JNode* obj, std::string_view key) const;
  // Typed lookups: nullopt when absent or of another type.
  std::optional<std::string_view> GetString(const JNode* obj,
                                            std::string_view key) const;

 private:
  class Parser;
  const JNode* At(uint32_t i) const { return i == 0 ? nullptr : &nodes_[i]; }

  std::string buf_;
  size_t text_len_ = 0;  // the kept text, at the start of buf_
  std::vector<JNode> nodes_;
};

}  // namespace stytch

#endif  // STYTCH_CORE_INSITU_JSON_H_
