// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "verify.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <string>

#include "base64url.h"
#include "jwks.h"
#include "jwt.h"
#include "test_util.h"

namespace stytch {
namespace {

using stytch_test::Fixture;
using stytch_test::Token;

EVP_PKEY* LoadPublic(const std::string& name) {
  const std::string pem = Fixture("keys/" + name + ".pub.pem");
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return key;
}

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key1_ = LoadPublic("key1");
    key2_ = LoadPublic("key2");
    ASSERT_NE(key1_, nullptr);
    ASSERT_NE(key2_, nullptr);
  }
  void TearDown() override {
    EVP_PKEY_free(key1_);
    EVP_PKEY_free(key2_);
    EXPECT_EQ(ERR_peek_error(), 0u) << "error queue left dirty";
  }

  bool Check(EVP_PKEY* key, const std::string& token) {
    JwsSegments seg;
    if (SplitJws(token, &seg) != Status::kOk) return false;
    std::string sig;
    if (!Base64UrlDecode(seg.signature, &sig)) return false;
    return Rs256Verify(key, seg.signing_input,
                       reinterpret_cast<const unsigned char*>(sig.data()),
                       sig.size());
  }

  EVP_PKEY* key1_ = nullptr;
  EVP_PKEY* key2_ = nullptr;
};

TEST_F(VerifyTest, AcceptsCryptJwtSignature) {
  EXPECT_TRUE(Check(key1_, Token("consumer")));
  EXPECT_TRUE(Check(key1_, Token("typical")));
  EXPECT_TRUE(Check(key2_, Token("key2")));
}

TEST_F(VerifyTest, PreparedContextIsReusable) {
  EVP_PKEY_CTX* ctx = NewRs256Context(key1_);
  ASSERT_NE(ctx, nullptr);
  const std::string t = Token("consumer");
  JwsSegments seg;
  ASSERT_EQ(SplitJws(t, &seg), Status::kOk);
  std::string sig;
  ASSERT_TRUE(Base64UrlDecode(seg.signature, &sig));
  auto* s = reinterpret_cast<unsigned char*>(sig.data());
  unsigned char digest[kSha256Size];
  ASSERT_TRUE(Sha256(seg.signing_input, digest));
  unsigned char other[kSha256Size];
  ASSERT_TRUE(Sha256("header.payload", other));
  // Successes and failures in any order: a failed verification leaves
  // nothing behind in the context that changes the next one.
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(Rs256VerifyDigest(ctx, sig.size(), digest, s, sig.size()));
    EXPECT_FALSE(Rs256VerifyDigest(ctx, sig.size(), other, s, sig.size()));
    s[i] ^= 1;
    EXPECT_FALSE(Rs256VerifyDigest(ctx, sig.size(), digest, s, sig.size()));
    s[i] ^= 1;
  }
  // The wrong length is refused before any RSA operation.
  EXPECT_FALSE(Rs256VerifyDigest(ctx, sig.size() + 1, digest, s, sig.size()));
  EVP_PKEY_CTX_free(ctx);
}

TEST_F(VerifyTest, WrongKey) {
  EXPECT_FALSE(Check(key2_, Token("consumer")));
  EXPECT_FALSE(Check(key1_, Token("rogue_signed")));
}

TEST_F(VerifyTest, OtherAlgorithmsDoNotVerifyAsRs256) {
  // RS512 and PS256 signatures by the right key are still not RS256.
  EXPECT_FALSE(Check(key1_, Token("rs512")));
  EXPECT_FALSE(Check(key1_, Token("ps256")));
}

TEST_F(VerifyTest, EverySignatureBitFlipFails) {
  const std::string t = Token("consumer");
  JwsSegments seg;
  ASSERT_EQ(SplitJws(t, &seg), Status::kOk);
  std::string sig;
  ASSERT_TRUE(Base64UrlDecode(seg.signature, &sig));
  for (size_t bit = 0; bit < sig.size() * 8; bit += 13) {
    std::string bad = sig;
    bad[bit / 8] ^= static_cast<char>(1 << (bit % 8));
    EXPECT_FALSE(Rs256Verify(
        key1_, seg.signing_input,
        reinterpret_cast<const unsigned char*>(bad.data()), bad.size()))
        << bit;
  }
}

TEST_F(VerifyTest, SignedBytesFlipFails) {
  const std::string t = Token("consumer");
  const size_t dot = t.rfind('.');
  for (size_t i = 0; i < dot; i += 37) {
    if (t[i] == '.') continue;
    std::string bad = t;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(Check(key1_, bad)) << i;
  }
}

TEST_F(VerifyTest, TruncatedAndExtendedSignatures) {
  const std::string t = Token("consumer");
  JwsSegments seg;
  ASSERT_EQ(SplitJws(t, &seg), Status::kOk);
  std::string sig;
  ASSERT_TRUE(Base64UrlDecode(seg.signature, &sig));
  auto verify = [&](const std::string& s) {
    return Rs256Verify(key1_, seg.signing_input,
                            reinterpret_cast<const unsigned char*>(s.data()),
                            s.size());
  };
  EXPECT_TRUE(verify(sig));
  EXPECT_FALSE(verify(sig.substr(0, sig.size() - 1)));
  EXPECT_FALSE(verify(sig.substr(1)));
  EXPECT_FALSE(verify(sig + '\0'));
  EXPECT_FALSE(verify(std::string(1, '\0') + sig));
  EXPECT_FALSE(verify(""));
  EXPECT_FALSE(verify(std::string(sig.size(), '\0')));
  EXPECT_FALSE(verify(std::string(sig.size(), '\xff')));
}

TEST_F(VerifyTest, NullKey) {
  const unsigned char sig[256] = {};
  EXPECT_FALSE(Rs256Verify(nullptr, "x", sig, sizeof(sig)));
}

TEST(Sha256Test, KnownVector) {
  unsigned char out[32];
  ASSERT_TRUE(Sha256("abc", out));
  const unsigned char expected[32] = {
      0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
      0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
      0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  EXPECT_EQ(memcmp(out, expected, 32), 0);
}

TEST(Sha256HasherTest, ReusedContextGivesEachDigest) {
  Sha256Hasher h;
  unsigned char got[kSha256Size], want[kSha256Size];
  for (const char* data : {"header.payload", "abc", "", "header.payload"}) {
    ASSERT_TRUE(h.Digest(data, got));
    ASSERT_TRUE(Sha256(data, want));
    EXPECT_EQ(memcmp(got, want, kSha256Size), 0) << data;
  }
  const std::string big(5000, 'x');
  ASSERT_TRUE(h.Digest(big, got));
  ASSERT_TRUE(Sha256(big, want));
  EXPECT_EQ(memcmp(got, want, kSha256Size), 0);
  EXPECT_EQ(ERR_peek_error(), 0u);
}

}  // namespace
}  // namespace stytch
