// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// JSON Web Key Sets (RFC 7517): the RSA signing keys of a Stytch project.

#ifndef STYTCH_CORE_JWKS_H_
#define STYTCH_CORE_JWKS_H_

#include <openssl/evp.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "log.h"
#include "status.h"

namespace stytch {

// Stytch publishes 2048-bit keys; anything weaker is refused outright.
inline constexpr int kMinRsaBits = 2048;
// Every forged token costs one verification with the key its kid names, so
// a key set decides what a forgery costs: a 16384-bit modulus with a 64-bit
// exponent makes each one hundreds of times a 2048-bit verification.  4096
// bits leaves room for a stronger key than Stytch's without that.
inline constexpr int kMaxRsaBits = 4096;
// Stytch uses 65537; 2^32-1 bounds the multiplications an exponent costs
// (about one per bit) far below what a 64-bit one would.
inline constexpr int kMaxRsaExponentBits = 32;
// A real set holds 1-3 keys during a rotation; the cap bounds the work a
// hostile or broken document can cause on each refresh.
inline constexpr size_t kMaxJwksKeys = 64;

class RsaPublicKey {
 public:
  // Takes ownership of pkey and ctx (see NewRs256Context).
  RsaPublicKey(std::string kid, EVP_PKEY* pkey, EVP_PKEY_CTX* ctx, int bits)
      : kid_(std::move(kid)), pkey_(pkey), ctx_(ctx), bits_(bits) {}
  ~RsaPublicKey() {
    EVP_PKEY_CTX_free(ctx_);
    EVP_PKEY_free(pkey_);
  }
  RsaPublicKey(const RsaPublicKey&) = delete;
  RsaPublicKey& operator=(const RsaPublicKey&) = delete;

  const std::string& kid() const { return kid_; }
  EVP_PKEY* pkey() const { return pkey_; }
  // Used, not changed, by each verification; a key set lives in one
  // single-threaded worker.
  EVP_PKEY_CTX* verify_context() const { return ctx_; }
  size_t signature_size() const { return (static_cast<size_t>(bits_) + 7) / 8; }
  int bits() const { return bits_; }

 private:
  std::string kid_;
  EVP_PKEY* pkey_;
  EVP_PKEY_CTX* ctx_;
  int bits_;
};

// Immutable once built; shared by the verifier and whoever still holds the
// previous generation.
class KeySet {
 public:
  const RsaPublicKey* Find(std::string_view kid) const {
    auto it = keys_.find(kid);
    return it == keys_.end() ? nullptr : it->second.get();
  }
  size_t size() const { return keys_.size(); }

 private:
  friend Status ParseJwks(std::string_view, const Logger&,
                          std::shared_ptr<const KeySet>*);
  std::map<std::string, std::unique_ptr<RsaPublicKey>, std::less<>> keys_;
};

// Builds a key set from a JWKS document.  Unusable keys are skipped and
// logged; the result is kJwksInvalid when the document is not a JWKS and
// kJwksNoUsableKey when no key survives.
//
// A key is usable when: kty is "RSA"; use is absent or "sig"; alg is absent
// or "RS256"; key_ops is absent or holds "verify"; kid is a non-empty
// string; n and e are strict base64url; the modulus is odd, of
// 2048..4096 bits; e is odd, at least 3 and at most 2^32-1.  Each refused
// key is logged with its kid and the reason.  When two keys share a kid,
// both are refused: which one a token meant is ambiguous, and picking
// either could let a key that was meant to be retired (or injected) verify.
Status ParseJwks(std::string_view json, const Logger& log,
                 std::shared_ptr<const KeySet>* out);

// Builds an EVP_PKEY from a big-endian modulus and exponent with OpenSSL 3's
// OSSL_PARAM interface.  nullptr on failure (error queue cleared).
EVP_PKEY* RsaPublicKeyFromParts(std::string_view n, std::string_view e);

}  // namespace stytch

#endif  // STYTCH_CORE_JWKS_H_
