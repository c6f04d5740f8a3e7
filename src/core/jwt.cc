// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "jwt.h"

#include <strings.h>

#include "base64url.h"
#include "stytch_core.h"

namespace stytch {

namespace {

// Size, exactly three segments, header and payload non-empty, the header
// strict base64url; `all` checks the payload and signature too.
Status Split(std::string_view token, bool all, JwsSegments* out) {
  if (token.empty()) return Status::kTokenMissing;
  if (token.size() > STYTCH_MAX_TOKEN_SIZE) return Status::kTokenTooLarge;

  const size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return Status::kTokenMalformed;
  const size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) return Status::kTokenMalformed;
  if (token.find('.', dot2 + 1) != std::string_view::npos) {
    return Status::kTokenMalformed;  // JWE (5 segments) or garbage
  }

  out->header = token.substr(0, dot1);
  out->payload = token.substr(dot1 + 1, dot2 - dot1 - 1);
  out->signature = token.substr(dot2 + 1);
  out->signing_input = token.substr(0, dot2);
  if (out->header.empty() || out->payload.empty()) {
    return Status::kTokenMalformed;
  }
  if (!Base64UrlValid(out->header) ||
      (all && (!Base64UrlValid(out->payload) ||
               !Base64UrlValid(out->signature)))) {
    return Status::kTokenMalformed;
  }
  return Status::kOk;
}

}  // namespace

Status SplitJws(std::string_view token, JwsSegments* out) {
  return Split(token, true, out);
}

Status SplitJwsDecoding(std::string_view token, JwsSegments* out,
                        std::string* payload, std::string* signature) {
  const Status st = Split(token, false, out);
  if (st != Status::kOk) return st;
  payload->reserve(2 * Base64UrlMaxDecodedSize(out->payload.size()) + 1);
  if (!Base64UrlDecode(out->payload, payload) ||
      !Base64UrlDecode(out->signature, signature)) {
    return Status::kTokenMalformed;
  }
  return Status::kOk;
}

Status ParseJwtHeader(std::string_view header_b64, JwtHeader* out) {
  std::string text;
  if (!Base64UrlDecode(header_b64, &text)) return Status::kTokenMalformed;
  JsonPtr header = JsonParse(text, STYTCH_MAX_TOKEN_SIZE);
  if (!json_is_object(header.get())) return Status::kJwtHeaderInvalid;

  const auto alg = JsonGetString(header.get(), "alg");
  if (!alg || *alg != "RS256") return Status::kJwtAlgNotAllowed;

  if (json_object_get(header.get(), "crit") != nullptr) {
    return Status::kJwtCritPresent;
  }

  const auto kid = JsonGetString(header.get(), "kid");
  if (!kid || kid->empty()) return Status::kJwtKidMissing;
  if (kid->size() > kMaxKidLength) return Status::kJwtHeaderInvalid;

  // jose (stytch-node) takes "JWT" in any case, with or without the media
  // type's "application/" prefix; absent, it is not checked.
  if (const json_t* typ = json_object_get(header.get(), "typ")) {
    if (!json_is_string(typ)) return Status::kJwtTypInvalid;
    std::string_view t(json_string_value(typ), json_string_length(typ));
    constexpr std::string_view kPrefix = "application/";
    if (t.size() > kPrefix.size() &&
        strncasecmp(t.data(), kPrefix.data(), kPrefix.size()) == 0) {
      t.remove_prefix(kPrefix.size());
    }
    if (t.size() != 3 || strncasecmp(t.data(), "JWT", 3) != 0) {
      return Status::kJwtTypInvalid;
    }
  }

  out->kid.assign(kid->data(), kid->size());
  return Status::kOk;
}

Status ParseJwtPayload(std::string_view payload_b64,
                       std::unique_ptr<JwtPayload>* out) {
  std::string text;
  if (!Base64UrlDecode(payload_b64, &text)) return Status::kTokenMalformed;
  return ParseJwtPayloadJson(std::move(text), out);
}

Status ParseJwtPayloadJson(std::string json, std::unique_ptr<JwtPayload>* out) {
  if (json.size() > STYTCH_MAX_TOKEN_SIZE) return Status::kJwtPayloadInvalid;
  auto payload = std::make_unique<JwtPayload>();
  if (!payload->doc.Parse(std::move(json), kMaxJsonDepth, true) ||
      payload->root()->type != JType::kObject) {
    return Status::kJwtPayloadInvalid;
  }
  *out = std::move(payload);
  return Status::kOk;
}

}  // namespace stytch
