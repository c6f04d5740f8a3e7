// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The verifier of one Stytch project: key set, token cache and the order in
// which a session JWT is checked.

#ifndef STYTCH_CORE_VERIFIER_H_
#define STYTCH_CORE_VERIFIER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "claims.h"
#include "jwks.h"
#include "log.h"
#include "ref.h"
#include "session.h"
#include "status.h"
#include "token_cache.h"
#include "verify.h"

namespace stytch {

struct VerifierConfig {
  std::string project_id;
  std::string api_url;  // may be empty; trailing slashes do not matter
  // When set, exactly these issuers are accepted (Issuers::Explicit);
  // otherwise Stytch's pair (Issuers::Default).
  std::optional<std::vector<std::string>> issuers;
  size_t cache_size = 0;
  Logger log;
};

class Verifier {
 public:
  explicit Verifier(VerifierConfig conf);

  // Replaces the key set when the document holds a usable key, and then
  // empties the token cache: a token verified with a key that is now gone
  // must stop being accepted.  On failure the old set stays.
  Status SetJwks(std::string_view json, size_t* nkeys);
  void SetKeySet(std::shared_ptr<const KeySet> keys);
  bool has_keys() const { return keys_ != nullptr; }

  // Checks, in this order, each step only after the previous passed:
  //  1. size, three strict base64url segments (401);
  //  2. header rules (see ParseJwtHeader) (401), before any key lookup;
  //  3. a key set is loaded (kJwksNoKeys) and holds kid (kJwksUnknownKid):
  //     both fall back to the API;
  //  4. the RS256 signature (401): before any claim, so that an expired
  //     forgery is kJwtSignatureInvalid and never costs an API call;
  //  5. payload JSON (401), then the token's kind (session, M2M or OAuth,
  //     see PayloadKind) against params.kinds (kTokenKindNotAllowed, 401;
  //     *session is set);
  //  6. iss, aud, time claim types, nbf and future iat, the session claim,
  //     then exp and max token age (session JWTs only): each falls back
  //     to the API, since the token is Stytch's own, and *session is set
  //     (untrusted, for logs).
  // A cached token skips 1-5 but the kind, and of 6 repeats nbf/iat, exp and
  // max age with `params`, since the cache is shared by locations with
  // different settings.
  Status Verify(std::string_view token, const VerifyParams& params,
                Ref<Session>* session, bool* cached);

  const TokenCache& cache() const { return cache_; }

  // RS256 signature checks made so far (step 4 reached: a cache hit makes
  // none, a forgery one).
  uint64_t signature_checks() const { return signature_checks_; }

 private:
  Status VerifyUncached(std::string_view token, const VerifyParams& params,
                        Ref<Session>* session, TimeClaims* times);
  const RsaPublicKey* KeyFor(std::string_view header_b64, Status* status);

  std::string project_id_;
  Issuers issuers_;
  Logger log_;
  std::shared_ptr<const KeySet> keys_;
  TokenCache cache_;
  Sha256Hasher hasher_;
  // Every token from one key carries the same header bytes, so the last
  // header that passed the rules maps straight to its key.  Only a pure
  // function of those bytes and keys_ is remembered; SetKeySet forgets it.
  std::string last_header_;
  const RsaPublicKey* last_key_ = nullptr;
  std::string signature_;
  uint64_t signature_checks_ = 0;
};

}  // namespace stytch

#endif  // STYTCH_CORE_VERIFIER_H_
