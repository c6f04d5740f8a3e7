// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "verify.h"

#include <openssl/err.h>
#include <openssl/rsa.h>

#include <new>

namespace stytch {

void ClearOpenSslErrors() noexcept { ERR_clear_error(); }

const EVP_MD* Sha256Md() noexcept {
  // A function-local static is initialised once, thread-safely; the fetched
  // method is kept for the life of the process on purpose.
  static const EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) ClearOpenSslErrors();
    return m;
  }();
  return md;
}

bool Sha256(std::string_view data, unsigned char out[kSha256Size]) noexcept {
  const EVP_MD* md = Sha256Md();
  unsigned int len = 0;
  if (md == nullptr ||
      EVP_Digest(data.data(), data.size(), out, &len, md, nullptr) != 1 ||
      len != kSha256Size) {
    ClearOpenSslErrors();
    return false;
  }
  return true;
}

Sha256Hasher::Sha256Hasher() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) {
    ClearOpenSslErrors();
    throw std::bad_alloc();
  }
}

Sha256Hasher::~Sha256Hasher() { EVP_MD_CTX_free(ctx_); }

bool Sha256Hasher::Digest(std::string_view data,
                          unsigned char out[kSha256Size]) noexcept {
  const EVP_MD* md = Sha256Md();
  unsigned int len = 0;
  if (md == nullptr || EVP_DigestInit_ex2(ctx_, md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx_, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx_, out, &len) != 1 || len != kSha256Size) {
    ClearOpenSslErrors();
    return false;
  }
  return true;
}

EVP_PKEY_CTX* NewRs256Context(EVP_PKEY* key) noexcept {
  const EVP_MD* md = Sha256Md();
  EVP_PKEY_CTX* ctx =
      key != nullptr && md != nullptr
          ? EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr)
          : nullptr;
  if (ctx == nullptr || EVP_PKEY_verify_init(ctx) != 1 ||
      // Explicit, so that a key carrying PSS defaults cannot change what
      // RS256 means; the digest makes OpenSSL check the DigestInfo.
      EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0 ||
      EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0) {
    EVP_PKEY_CTX_free(ctx);
    ClearOpenSslErrors();
    return nullptr;
  }
  return ctx;
}

bool Rs256VerifyDigest(EVP_PKEY_CTX* prepared, size_t key_bytes,
                       const unsigned char digest[kSha256Size],
                       const unsigned char* sig, size_t sig_len) noexcept {
  // A PKCS#1 v1.5 signature is exactly as long as the modulus; anything
  // else is forged or truncated and needs no RSA operation to say so.
  if (prepared == nullptr || sig_len == 0 || sig_len != key_bytes) {
    return false;
  }
  const bool ok =
      EVP_PKEY_verify(prepared, sig, sig_len, digest, kSha256Size) == 1;
  if (!ok) ClearOpenSslErrors();
  return ok;
}

bool Rs256Verify(EVP_PKEY* key, std::string_view signed_data,
                 const unsigned char* sig, size_t sig_len) noexcept {
  if (key == nullptr) return false;
  unsigned char digest[kSha256Size];
  if (!Sha256(signed_data, digest)) return false;
  EVP_PKEY_CTX* prepared = NewRs256Context(key);
  if (prepared == nullptr) return false;
  const bool ok =
      Rs256VerifyDigest(prepared, static_cast<size_t>(EVP_PKEY_get_size(key)),
                        digest, sig, sig_len);
  EVP_PKEY_CTX_free(prepared);
  return ok;
}

}  // namespace stytch
