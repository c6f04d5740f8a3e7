// RS256 signature verification (RSASSA-PKCS1-v1_5 with SHA-256) through
// OpenSSL 3's EVP interface.

#ifndef STYTCH_CORE_VERIFY_H_
#define STYTCH_CORE_VERIFY_H_

#include <openssl/evp.h>

#include <string_view>

namespace stytch {

// Clears OpenSSL's per-thread error queue.  Every failure path calls it:
// NGINX (and other OpenSSL users in the same worker, such as its own TLS
// code) would otherwise find our stale errors and misreport theirs.
void ClearOpenSslErrors() noexcept;

// The SHA-256 implementation, fetched once: fetching by name on every call
// costs a lock and a hash lookup in OpenSSL 3.
const EVP_MD* Sha256Md() noexcept;

// SHA-256 of `data` into out[32].
bool Sha256(std::string_view data, unsigned char out[32]) noexcept;

// A context set up for RS256 verification with `key` (SHA-256, PKCS#1
// v1.5 padding), made once per key when the key set is loaded: in OpenSSL 3
// EVP_DigestVerifyInit costs about 2 us (provider and digest lookups), and
// copying a prepared context costs a tenth of that.  nullptr on failure.
EVP_MD_CTX* NewRs256Context(EVP_PKEY* key) noexcept;

// A reusable verification context; one per verifier, single-threaded.
class Rs256Verifier {
 public:
  Rs256Verifier();
  ~Rs256Verifier();
  Rs256Verifier(const Rs256Verifier&) = delete;
  Rs256Verifier& operator=(const Rs256Verifier&) = delete;

  // True only when `sig` is a valid RS256 signature of `signed_data` under
  // the RSA public key `key`.
  bool Verify(EVP_PKEY* key, std::string_view signed_data,
              const unsigned char* sig, size_t sig_len) noexcept;

  // The same with a context from NewRs256Context for a key whose
  // signatures are `key_bytes` long; this is the hot path.
  bool Verify(const EVP_MD_CTX* prepared, size_t key_bytes,
              std::string_view signed_data, const unsigned char* sig,
              size_t sig_len) noexcept;

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace stytch

#endif  // STYTCH_CORE_VERIFY_H_
