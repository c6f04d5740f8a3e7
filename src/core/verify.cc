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

bool Sha256(std::string_view data, unsigned char out[32]) noexcept {
  const EVP_MD* md = Sha256Md();
  unsigned int len = 0;
  if (md == nullptr ||
      EVP_Digest(data.data(), data.size(), out, &len, md, nullptr) != 1 ||
      len != 32) {
    ClearOpenSslErrors();
    return false;
  }
  return true;
}

Rs256Verifier::Rs256Verifier() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) {
    ClearOpenSslErrors();
    throw std::bad_alloc();
  }
}

Rs256Verifier::~Rs256Verifier() { EVP_MD_CTX_free(ctx_); }

EVP_MD_CTX* NewRs256Context(EVP_PKEY* key) noexcept {
  const EVP_MD* md = Sha256Md();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  if (ctx == nullptr || md == nullptr || key == nullptr ||
      EVP_DigestVerifyInit(ctx, &pctx, md, nullptr, key) != 1 ||
      // Explicit, so that a key carrying PSS defaults cannot change what
      // RS256 means.
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0) {
    EVP_MD_CTX_free(ctx);
    ClearOpenSslErrors();
    return nullptr;
  }
  return ctx;
}

bool Rs256Verifier::Verify(EVP_PKEY* key, std::string_view signed_data,
                           const unsigned char* sig, size_t sig_len) noexcept {
  if (key == nullptr) return false;
  EVP_MD_CTX* prepared = NewRs256Context(key);
  if (prepared == nullptr) return false;
  const bool ok = Verify(prepared, static_cast<size_t>(EVP_PKEY_get_size(key)),
                         signed_data, sig, sig_len);
  EVP_MD_CTX_free(prepared);
  return ok;
}

bool Rs256Verifier::Verify(const EVP_MD_CTX* prepared, size_t key_bytes,
                           std::string_view signed_data,
                           const unsigned char* sig, size_t sig_len) noexcept {
  // A PKCS#1 v1.5 signature is exactly as long as the modulus; anything
  // else is forged or truncated and needs no RSA operation to say so.
  if (prepared == nullptr || sig_len == 0 || sig_len != key_bytes) {
    return false;
  }
  const bool ok =
      EVP_MD_CTX_copy_ex(ctx_, prepared) == 1 &&
      EVP_DigestVerify(
          ctx_, sig, sig_len,
          reinterpret_cast<const unsigned char*>(signed_data.data()),
          signed_data.size()) == 1;
  if (!ok) ClearOpenSslErrors();
  return ok;
}

}  // namespace stytch
