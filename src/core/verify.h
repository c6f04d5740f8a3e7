// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// RS256 signature verification (RSASSA-PKCS1-v1_5 with SHA-256) through
// OpenSSL 3's EVP interface.

#ifndef STYTCH_CORE_VERIFY_H_
#define STYTCH_CORE_VERIFY_H_

#include <openssl/evp.h>

#include <cstddef>
#include <string_view>

namespace stytch {

inline constexpr size_t kSha256Size = 32;

// Clears OpenSSL's per-thread error queue.  Every failure path calls it:
// NGINX (and other OpenSSL users in the same worker, such as its own TLS
// code) would otherwise find our stale errors and misreport theirs.
void ClearOpenSslErrors() noexcept;

// The SHA-256 implementation, fetched once: fetching by name on every call
// costs a lock and a hash lookup in OpenSSL 3.
const EVP_MD* Sha256Md() noexcept;

// SHA-256 of `data` into out[32].
bool Sha256(std::string_view data, unsigned char out[kSha256Size]) noexcept;

// SHA-256 with one context kept from call to call: EVP_Digest makes and
// frees a context on each call.  Reusable; single-threaded.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  bool Digest(std::string_view data, unsigned char out[kSha256Size]) noexcept;

 private:
  EVP_MD_CTX* ctx_;
};

// A context set up for RS256 verification of a SHA-256 digest with `key`
// (PKCS#1 v1.5 padding, SHA-256 DigestInfo), made once per key when the key
// set is loaded.  In OpenSSL 3 a digest-and-verify context costs about 2 us
// to set up, or two context copies per signature when one is reused; this
// one is used as it is, as `openssl speed` does.  nullptr on failure.
EVP_PKEY_CTX* NewRs256Context(EVP_PKEY* key) noexcept;

// True only when `sig` is a valid RS256 signature, by the key `prepared` was
// made for (whose signatures are `key_bytes` long), of a message whose
// SHA-256 is `digest`.  This is the hot path.
bool Rs256VerifyDigest(EVP_PKEY_CTX* prepared, size_t key_bytes,
                       const unsigned char digest[kSha256Size],
                       const unsigned char* sig, size_t sig_len) noexcept;

// True only when `sig` is a valid RS256 signature of `signed_data` under
// the RSA public key `key`; sets up a context each time.
bool Rs256Verify(EVP_PKEY* key, std::string_view signed_data,
                 const unsigned char* sig, size_t sig_len) noexcept;

}  // namespace stytch

#endif  // STYTCH_CORE_VERIFY_H_
