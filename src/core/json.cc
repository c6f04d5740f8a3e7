// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "json.h"

#include <cstdlib>
#include <new>

namespace stytch {

int JsonDepth(std::string_view text, int limit) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  const char* p = text.data();
  const char* end = p + text.size();
  for (; p < end; ++p) {
    const char c = *p;
    if (in_string) {
      if (c == '\\') {
        ++p;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > limit) return -1;
        if (depth > deepest) deepest = depth;
        break;
      case ']':
      case '}':
        // Unbalanced text is jansson's to reject; only depth matters here.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return deepest;
}

JsonPtr JsonParse(std::string_view text, size_t max_size, JsonError* error,
                  int max_depth) {
  JsonError dummy;
  JsonError& err = error ? *error : dummy;
  if (text.size() > max_size) {
    err = JsonError::kTooLarge;
    return nullptr;
  }
  if (JsonDepth(text, max_depth) < 0) {
    err = JsonError::kTooDeep;
    return nullptr;
  }
  json_error_t jerr;
  JsonPtr root(
      json_loadb(text.data(), text.size(), JSON_REJECT_DUPLICATES, &jerr));
  err = root ? JsonError::kNone : JsonError::kSyntax;
  return root;
}

std::string JsonDumpCompact(const json_t* j) {
  char* text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
  if (text == nullptr) throw std::bad_alloc();
  std::string out;
  // jansson escapes the other control characters but writes DEL, the C1
  // controls and U+2028/U+2029 as they are; outside strings it writes none
  // of them, so escaping each one keeps the text valid JSON of the same
  // value.  The text is UTF-8: C1 is C2 80..9F, U+2028/9 are E2 80 A8/9.
  static const char kHex[] = "0123456789abcdef";
  for (const char* p = text; *p != '\0'; ++p) {
    const unsigned char c = static_cast<unsigned char>(*p);
    const unsigned char c1 = static_cast<unsigned char>(p[1]);
    if (c == 0x7f) {
      out += "\\u007f";
    } else if (c == 0xc2 && c1 >= 0x80 && c1 <= 0x9f) {
      out += "\\u00";
      out += kHex[c1 >> 4];
      out += kHex[c1 & 0xf];
      ++p;
    } else if (c == 0xe2 && c1 == 0x80 &&
               (static_cast<unsigned char>(p[2]) == 0xa8 ||
                static_cast<unsigned char>(p[2]) == 0xa9)) {
      out += static_cast<unsigned char>(p[2]) == 0xa8 ? "\\u2028"
                                                      : "\\u2029";
      p += 2;
    } else {
      out += *p;
    }
  }
  free(text);
  return out;
}

std::optional<std::string_view> JsonGetString(const json_t* obj,
                                              const char* key) {
  const json_t* v = json_object_get(obj, key);
  if (!json_is_string(v)) return std::nullopt;
  return JsonStringView(v);
}

const json_t* JsonGetObject(const json_t* obj, const char* key) {
  const json_t* v = json_object_get(obj, key);
  return json_is_object(v) ? v : nullptr;
}

const json_t* JsonGetArray(const json_t* obj, const char* key) {
  const json_t* v = json_object_get(obj, key);
  return json_is_array(v) ? v : nullptr;
}

}  // namespace stytch
