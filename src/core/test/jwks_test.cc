// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "jwks.h"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <string>
#include <vector>

#include "test_util.h"

namespace stytch {
namespace {

using stytch_test::Jwks;
using stytch_test::kKid1;
using stytch_test::kKid2;

struct Captured {
  std::vector<std::string> lines;
  static void Log(void* ctx, int, const char* msg, size_t len) {
    static_cast<Captured*>(ctx)->lines.emplace_back(msg, len);
  }
  bool Mentions(const std::string& what) const {
    for (const auto& l : lines) {
      if (l.find(what) != std::string::npos) return true;
    }
    return false;
  }
};

class JwksTest : public ::testing::Test {
 protected:
  Status Parse(const std::string& name) {
    return ParseJwks(Jwks(name), Logger(&Captured::Log, &log_), &set_);
  }
  Captured log_;
  std::shared_ptr<const KeySet> set_;
};

TEST_F(JwksTest, GoodSet) {
  ASSERT_EQ(Parse("good"), Status::kOk);
  EXPECT_EQ(set_->size(), 3u);
  ASSERT_NE(set_->Find(kKid1), nullptr);
  EXPECT_EQ(set_->Find(kKid1)->bits(), 2048);
  EXPECT_EQ(set_->Find("jwk-test-44444444-4444-4444-4444-444444444444")->bits(),
            4096);
  EXPECT_EQ(set_->Find("nope"), nullptr);
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(JwksTest, MinimalMembersAreEnough) {
  ASSERT_EQ(Parse("minimal"), Status::kOk);
  EXPECT_EQ(set_->size(), 1u);
}

TEST_F(JwksTest, DuplicateKidRefusesBoth) {
  ASSERT_EQ(Parse("dup_kid"), Status::kOk);
  EXPECT_EQ(set_->Find(kKid1), nullptr);
  EXPECT_NE(set_->Find(kKid2), nullptr);
  EXPECT_EQ(set_->size(), 1u);
  EXPECT_TRUE(log_.Mentions("more than once"));
}

TEST_F(JwksTest, Only1024BitKeyIsNoUsableKey) {
  EXPECT_EQ(Parse("only_1024"), Status::kJwksNoUsableKey);
  EXPECT_EQ(set_, nullptr);
  EXPECT_TRUE(log_.Mentions("modulus size"));
}

TEST_F(JwksTest, RefusedKeyKinds) {
  const std::pair<const char*, const char*> cases[] = {
      {"wrong_kty", "kty"},   {"use_enc", "use"},
      {"alg_rs512", "alg"},   {"key_ops_sign", "key_ops"},
      {"n_empty", "n or e"},  {"n_padded", "n or e"},
      {"e_huge", "exponent"}, {"e_even", "exponent"},
  };
  for (const auto& [name, why] : cases) {
    log_.lines.clear();
    set_.reset();
    EXPECT_EQ(Parse(name), Status::kJwksNoUsableKey) << name;
    EXPECT_TRUE(log_.Mentions(why)) << name;
    EXPECT_EQ(ERR_peek_error(), 0u) << name;
  }
}

// Each forged token costs one verification with the key its kid names: a
// 16384-bit modulus with a 64-bit exponent would make that about 100 times
// a normal one.  Such keys are refused by name and reason; the others load.
TEST_F(JwksTest, CostlyKeysAreRefused) {
  const struct {
    const char* name;
    const char* kid;
    const char* why;
  } cases[] = {
      {"key8192", "jwk-test-8192", "8192 bits"},
      {"n16384_e64", "jwk-test-16384", "16384 bits"},
      {"n4097", "jwk-test-4097", "4097 bits"},
      {"e_64bit", kKid1, "exponent"},
      {"e_2p32p1", kKid1, "exponent"},
      {"e_one", kKid1, "exponent"},
      {"e_even", kKid1, "exponent"},
  };
  for (const auto& c : cases) {
    log_.lines.clear();
    set_.reset();
    EXPECT_EQ(Parse(c.name), Status::kJwksNoUsableKey) << c.name;
    ASSERT_FALSE(log_.lines.empty()) << c.name;
    EXPECT_NE(log_.lines[0].find(std::string("\"") + c.kid + "\""),
              std::string::npos)
        << log_.lines[0];
    EXPECT_NE(log_.lines[0].find(c.why), std::string::npos) << log_.lines[0];
    EXPECT_EQ(ERR_peek_error(), 0u) << c.name;
  }
}

TEST_F(JwksTest, CostlyKeysDoNotStopTheOthers) {
  ASSERT_EQ(Parse("costly_mixed"), Status::kOk);
  EXPECT_EQ(set_->size(), 1u);
  EXPECT_NE(set_->Find(kKid2), nullptr);
  EXPECT_TRUE(log_.Mentions("\"jwk-test-8192\""));
  EXPECT_TRUE(log_.Mentions("\"jwk-test-16384\""));
}

TEST_F(JwksTest, LimitsAreInclusive) {
  // 2048 and 4096 bits, e = 3 and e = 2^32-1 all load.
  ASSERT_EQ(Parse("good"), Status::kOk);
  EXPECT_EQ(set_->Find("jwk-test-44444444-4444-4444-4444-444444444444")->bits(),
            kMaxRsaBits);
  for (const char* name : {"e_three", "e_2p32m1"}) {
    set_.reset();
    EXPECT_EQ(Parse(name), Status::kOk) << name;
  }
}

TEST_F(JwksTest, MixedSetKeepsTheUsableKey) {
  ASSERT_EQ(Parse("mixed"), Status::kOk);
  EXPECT_EQ(set_->size(), 1u);
  EXPECT_NE(set_->Find(kKid1), nullptr);
  // Each refusal was logged: 1024-bit, use enc, no n, not an object,
  // kid too long.
  EXPECT_GE(log_.lines.size(), 5u);
}

TEST_F(JwksTest, NotAKeySet) {
  for (const char* name : {"not_jwks", "keys_not_array", "garbage"}) {
    EXPECT_EQ(Parse(name), Status::kJwksInvalid) << name;
  }
  EXPECT_EQ(Parse("empty"), Status::kJwksNoUsableKey);
  EXPECT_EQ(ParseJwks("[]", Logger(), &set_), Status::kJwksInvalid);
  EXPECT_EQ(ParseJwks(R"({"keys":[],"keys":[]})", Logger(), &set_),
            Status::kJwksInvalid);
}

TEST_F(JwksTest, Oversize) {
  std::string big = R"({"keys":[],"pad":")";
  big += std::string(STYTCH_MAX_JWKS_SIZE, 'x');
  big += "\"}";
  EXPECT_EQ(ParseJwks(big, Logger(), &set_), Status::kJwksInvalid);
}

TEST_F(JwksTest, TooManyKeysStopsAtTheCap) {
  // The real key last, after kMaxJwksKeys refused ones: it is not reached.
  std::string doc = R"({"keys":[)";
  for (size_t i = 0; i < kMaxJwksKeys; ++i) {
    doc += R"({"kty":"EC","kid":"k)" + std::to_string(i) + "\"},";
  }
  const std::string good = Jwks("key1_only");
  const size_t open = good.find('[') + 1, close = good.rfind(']');
  doc += good.substr(open, close - open) + "]}";
  EXPECT_EQ(ParseJwks(doc, Logger(), &set_), Status::kJwksNoUsableKey);
}

// The glue prefixes each line with "stytch: " itself.
TEST_F(JwksTest, LogLinesCarryNoPrefix) {
  for (const char* name : {"mixed", "dup_kid", "only_1024", "garbage", "empty",
                           "costly_mixed", "e_huge"}) {
    Parse(name);
  }
  ParseJwks(std::string(STYTCH_MAX_JWKS_SIZE + 1, ' '),
            Logger(&Captured::Log, &log_), &set_);
  ASSERT_GE(log_.lines.size(), 10u);
  for (const auto& line : log_.lines) {
    EXPECT_NE(line.rfind("stytch:", 0), 0u) << line;
    EXPECT_FALSE(line.empty());
  }
}

// A kid is the document's text: it must not be able to forge log lines.
TEST_F(JwksTest, KidInLogIsPrintable) {
  EXPECT_EQ(
      ParseJwks(R"({"keys":[{"kty":"EC","kid":"a\nb\r\u001b[31m\u007f"}]})",
                Logger(&Captured::Log, &log_), &set_),
      Status::kJwksNoUsableKey);
  ASSERT_FALSE(log_.lines.empty());
  EXPECT_TRUE(log_.Mentions("\"a?b??[31m?\""));
  for (const auto& line : log_.lines) {
    for (unsigned char c : line) {
      EXPECT_TRUE(c >= 0x20 && c != 0x7f) << line;
    }
  }
}

TEST(RsaPublicKeyTest, FromParts) {
  EXPECT_EQ(RsaPublicKeyFromParts("", ""), nullptr);
  EXPECT_EQ(ERR_peek_error(), 0u);
}

}  // namespace
}  // namespace stytch
