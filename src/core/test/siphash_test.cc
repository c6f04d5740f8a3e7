#include "siphash.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <random>
#include <string>

namespace stytch {
namespace {

const unsigned char kRefKey[16] = {0, 1, 2,  3,  4,  5,  6,  7,
                                   8, 9, 10, 11, 12, 13, 14, 15};

std::string Bytes(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i);
  return s;
}

// The paper's (Aumasson and Bernstein, appendix A) example and the first
// of the reference implementation's vectors: key 00..0f, message 00..n-1.
TEST(SipHashTest, ReferenceVectors) {
  const SipKey key = SipKeyFromBytes(kRefKey);
  EXPECT_EQ(SipHash24(key, Bytes(0)), 0x726fdb47dd0e0e31ULL);
  EXPECT_EQ(SipHash24(key, Bytes(15)), 0xa129ca6149be45e5ULL);
}

// OpenSSL's SipHash, an implementation independent of ours.
uint64_t OpenSslSipHash(const unsigned char key[16], const std::string& msg) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "SIPHASH", nullptr);
  EVP_MAC_CTX* ctx = mac ? EVP_MAC_CTX_new(mac) : nullptr;
  unsigned int size = 8;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_uint(OSSL_MAC_PARAM_SIZE, &size),
      OSSL_PARAM_END};
  unsigned char out[8] = {};
  size_t outlen = 0;
  const bool ok =
      ctx != nullptr && EVP_MAC_init(ctx, key, 16, params) == 1 &&
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(msg.data()),
                     msg.size()) == 1 &&
      EVP_MAC_final(ctx, out, &outlen, sizeof(out)) == 1 && outlen == 8;
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  EXPECT_TRUE(ok);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | out[i];
  return v;
}

TEST(SipHashTest, AgreesWithOpenSsl) {
  std::mt19937_64 rng(12345);
  for (size_t len = 0; len <= 100; ++len) {
    unsigned char key[16];
    for (auto& b : key) b = static_cast<unsigned char>(rng());
    std::string msg(len, '\0');
    for (auto& c : msg) c = static_cast<char>(rng());
    EXPECT_EQ(SipHash24(SipKeyFromBytes(key), msg), OpenSslSipHash(key, msg))
        << len;
  }
}

TEST(SipHashTest, TheKeyMatters) {
  unsigned char other[16];
  for (int i = 0; i < 16; ++i) other[i] = kRefKey[i];
  other[15] ^= 1;
  EXPECT_NE(SipHash24(SipKeyFromBytes(kRefKey), "token"),
            SipHash24(SipKeyFromBytes(other), "token"));
}

}  // namespace
}  // namespace stytch
