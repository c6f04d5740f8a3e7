// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "verifier.h"

#include "base64url.h"
#include "jwt.h"

namespace stytch {
namespace {

// Whether a caller that takes `kinds` takes a token of `kind`.
bool KindAllowed(unsigned kinds, int kind) {
  kinds &= STYTCH_KIND_SESSION | STYTCH_KIND_M2M | STYTCH_KIND_OAUTH;
  if (kinds == 0) kinds = STYTCH_KIND_SESSION;
  return (kinds & static_cast<unsigned>(kind)) != 0;
}

// max_token_age is the session JWTs' rule (authenticateJwt's
// max_token_age_seconds): m2m.authenticateToken and idp's
// introspectTokenLocal have none, so an access token is held to its exp
// only.
VerifyParams FreshnessParams(const VerifyParams& params,
                             const Session* session) {
  VerifyParams p = params;
  if (session != nullptr && session->kind() != STYTCH_KIND_SESSION) {
    p.max_token_age = -1;
  }
  return p;
}

}  // namespace

Verifier::Verifier(VerifierConfig conf)
    : project_id_(std::move(conf.project_id)),
      issuers_(conf.issuers ? Issuers::Explicit(*conf.issuers)
                            : Issuers::Default(project_id_, conf.api_url)),
      log_(conf.log),
      cache_(conf.cache_size) {}

Status Verifier::SetJwks(std::string_view json, size_t* nkeys) {
  std::shared_ptr<const KeySet> keys;
  const Status st = ParseJwks(json, log_, &keys);
  if (st != Status::kOk) {
    if (nkeys) *nkeys = 0;
    return st;
  }
  if (nkeys) *nkeys = keys->size();
  SetKeySet(std::move(keys));
  return Status::kOk;
}

void Verifier::SetKeySet(std::shared_ptr<const KeySet> keys) {
  keys_ = std::move(keys);
  cache_.Clear();
  last_header_.clear();
  last_key_ = nullptr;
}

const RsaPublicKey* Verifier::KeyFor(std::string_view header_b64,
                                     Status* status) {
  if (last_key_ != nullptr && header_b64 == last_header_) {
    *status = Status::kOk;
    return last_key_;
  }
  JwtHeader header;
  *status = ParseJwtHeader(header_b64, &header);
  if (*status != Status::kOk) return nullptr;
  if (!keys_) {
    *status = Status::kJwksNoKeys;
    return nullptr;
  }
  const RsaPublicKey* key = keys_->Find(header.kid);
  if (key == nullptr) {
    *status = Status::kJwksUnknownKid;
    return nullptr;
  }
  last_header_.assign(header_b64.data(), header_b64.size());
  last_key_ = key;
  return key;
}

Status Verifier::VerifyUncached(std::string_view token,
                                const VerifyParams& params,
                                Ref<Session>* session, TimeClaims* times) {
  JwsSegments seg;
  std::string payload_text;
  Status st = SplitJwsDecoding(token, &seg, &payload_text, &signature_);
  if (st != Status::kOk) return st;

  const RsaPublicKey* key = KeyFor(seg.header, &st);
  if (key == nullptr) return st;

  unsigned char digest[kSha256Size];
  if (!hasher_.Digest(seg.signing_input, digest)) {
    return Status::kJwtSignatureInvalid;
  }
  ++signature_checks_;
  if (!Rs256VerifyDigest(
          key->verify_context(), key->signature_size(), digest,
          reinterpret_cast<const unsigned char*>(signature_.data()),
          signature_.size())) {
    return Status::kJwtSignatureInvalid;
  }

  std::unique_ptr<JwtPayload> payload;
  st = ParseJwtPayloadJson(std::move(payload_text), &payload);
  if (st != Status::kOk) return st;

  // From here on the token is Stytch's own: each failure falls back to the
  // API, and the session goes with it so that the caller can log who it
  // was.  The first failure, in the documented order, is the answer.
  // The kind comes first: the API can make neither kind into the other,
  // so a token the caller does not take is refused without asking.
  if (!KindAllowed(params.kinds, PayloadKind(payload->doc))) {
    st = Status::kTokenKindNotAllowed;
  } else if ((st = CheckIssuer(payload->doc, issuers_)) == Status::kOk &&
             (st = CheckAudience(payload->doc, project_id_)) == Status::kOk &&
             (st = ReadTimeClaims(payload->doc, times)) == Status::kOk) {
    st = CheckNotBefore(*times, params);
  }
  Ref<Session> built;
  const Status session_st =
      SessionFromJwtPayload(std::move(payload), times->exp, &built);
  if (st == Status::kOk) st = session_st;
  if (st == Status::kOk) st = CheckFreshness(*times, FreshnessParams(params,
                                                   built.get()));
  *session = std::move(built);
  return st;
}

Status Verifier::Verify(std::string_view token, const VerifyParams& params,
                        Ref<Session>* session, bool* cached) {
  *cached = false;
  if (token.empty()) return Status::kTokenMissing;
  if (token.size() > STYTCH_MAX_TOKEN_SIZE) return Status::kTokenTooLarge;

  // The cache finds the token by a keyed hash of its end and compares
  // the whole of it with the bytes it stored: nothing here hashes or
  // copies the token on a hit.
  const bool use_cache = cache_.capacity() > 0;
  TokenCache::Hash hash = 0;
  if (use_cache) {
    hash = cache_.HashOf(token);
    if (const TokenCache::Entry* hit = cache_.Find(token, hash)) {
      *cached = true;
      *session = hit->session;
      if (!KindAllowed(params.kinds, hit->session->kind())) {
        return Status::kTokenKindNotAllowed;
      }
      const Status st = CheckNotBefore(hit->times, params);
      return st != Status::kOk
                 ? st
                 : CheckFreshness(hit->times,
                                  FreshnessParams(params, hit->session.get()));
    }
  }

  TimeClaims times;
  const Status st = VerifyUncached(token, params, session, &times);
  // Only successes are kept: a failure may be the caller's clock or
  // settings today and a success tomorrow, and caching forgeries would let
  // an attacker fill the cache.
  if (st == Status::kOk && use_cache) {
    cache_.Insert(token, hash, TokenCache::Entry{*session, times});
  }
  return st;
}

}  // namespace stytch
