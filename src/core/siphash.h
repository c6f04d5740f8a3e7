// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash, fast
// on short inputs.  Without the key, nobody can tell which inputs collide.

#ifndef STYTCH_CORE_SIPHASH_H_
#define STYTCH_CORE_SIPHASH_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace stytch {

struct SipKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
};

// The 16 key bytes are read little-endian, k0 from the first eight, as the
// reference implementation (and OpenSSL's EVP_MAC "SIPHASH") reads them;
// the result is the reference's 8 output bytes read little-endian.
SipKey SipKeyFromBytes(const unsigned char bytes[16]) noexcept;

uint64_t SipHash24(const SipKey& key, std::string_view data) noexcept;

}  // namespace stytch

#endif  // STYTCH_CORE_SIPHASH_H_
