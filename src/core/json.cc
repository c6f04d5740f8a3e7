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
  // jansson escapes the other control characters but writes DEL as it is;
  // outside strings it writes none, so escaping each one keeps the text
  // valid JSON of the same value.
  for (const char* p = text; *p != '\0'; ++p) {
    if (*p == '\x7f') {
      out += "\\u007f";
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
