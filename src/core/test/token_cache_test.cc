// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "token_cache.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "test_util.h"
#include "verifier.h"

namespace stytch {
namespace {

TokenCache::Entry Entry(int64_t exp) {
  TokenCache::Entry e;
  e.times.exp = exp;
  return e;
}

// Find and Insert with the cache's own hash.
const TokenCache::Entry* Find(TokenCache& c, std::string_view token) {
  return c.Find(token, c.HashOf(token));
}
void Insert(TokenCache& c, std::string_view token, int64_t exp) {
  c.Insert(token, c.HashOf(token), Entry(exp));
}

TEST(TokenCacheTest, FindInsert) {
  TokenCache c(4);
  EXPECT_EQ(Find(c, "a"), nullptr);
  Insert(c, "a", 1);
  ASSERT_NE(Find(c, "a"), nullptr);
  EXPECT_EQ(Find(c, "a")->times.exp, 1);
  EXPECT_EQ(Find(c, "b"), nullptr);
  Insert(c, "a", 2);
  EXPECT_EQ(c.size(), 1u);
  EXPECT_EQ(Find(c, "a")->times.exp, 2);
}

TEST(TokenCacheTest, EvictsLeastRecentlyUsed) {
  TokenCache c(2);
  Insert(c, "a", 1);
  Insert(c, "b", 2);
  ASSERT_NE(Find(c, "a"), nullptr);  // a is now the most recent
  Insert(c, "c", 3);
  EXPECT_EQ(c.size(), 2u);
  EXPECT_NE(Find(c, "a"), nullptr);
  EXPECT_EQ(Find(c, "b"), nullptr);
  EXPECT_NE(Find(c, "c"), nullptr);
}

TEST(TokenCacheTest, ZeroCapacityHoldsNothing) {
  TokenCache c(0);
  Insert(c, "a", 1);
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(Find(c, "a"), nullptr);
  EXPECT_EQ(c.token_bytes(), 0u);
}

TEST(TokenCacheTest, EraseAndClear) {
  TokenCache c(8);
  Insert(c, "a", 1);
  Insert(c, "b", 2);
  c.Erase("a", c.HashOf("a"));
  EXPECT_EQ(Find(c, "a"), nullptr);
  EXPECT_EQ(c.size(), 1u);
  c.Erase("zz", c.HashOf("zz"));
  EXPECT_EQ(c.size(), 1u);
  EXPECT_GT(c.token_bytes(), 0u);
  c.Clear();
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(Find(c, "b"), nullptr);
  EXPECT_EQ(c.token_bytes(), 0u);  // the buffers are freed
}

TEST(TokenCacheTest, CapacityIsRoundedToWholeSets) {
  EXPECT_EQ(TokenCache(1).capacity(), 1u);
  EXPECT_EQ(TokenCache(7).capacity(), 7u);
  EXPECT_EQ(TokenCache(8).capacity(), 8u);
  EXPECT_EQ(TokenCache(9).capacity(), 16u);
  EXPECT_EQ(TokenCache(4096).capacity(), 4096u);
}

// A hash in set `set` (0 or 1) of a two-set cache, told apart by `n`: the
// set is the hash's top bit.
TokenCache::Hash InSet(uint64_t set, uint64_t n) { return set << 63 | n; }

TEST(TokenCacheTest, EachSetEvictsItsLeastRecentlyUsed) {
  TokenCache c(16);  // two sets of eight
  ASSERT_EQ(c.capacity(), 16u);
  auto name = [](uint64_t set, uint64_t n) {
    return "token-" + std::to_string(set) + "-" + std::to_string(n);
  };
  auto find = [&](uint64_t set, uint64_t n) {
    return c.Find(name(set, n), InSet(set, n));
  };
  for (uint64_t n = 1; n <= 8; ++n) c.Insert(name(0, n), InSet(0, n), Entry(n));
  c.Insert(name(1, 1), InSet(1, 1), Entry(100));
  EXPECT_EQ(c.size(), 9u);
  ASSERT_NE(find(0, 1), nullptr);  // 1 is now the most recent
  c.Insert(name(0, 9), InSet(0, 9), Entry(9));  // evicts 2
  EXPECT_EQ(c.size(), 9u);
  EXPECT_EQ(find(0, 2), nullptr);
  for (uint64_t n : {1, 3, 4, 5, 6, 7, 8, 9}) {
    ASSERT_NE(find(0, n), nullptr) << n;
    EXPECT_EQ(find(0, n)->times.exp, static_cast<int64_t>(n));
  }
  // The other set lost nothing.
  ASSERT_NE(find(1, 1), nullptr);
  EXPECT_EQ(find(1, 1)->times.exp, 100);
}

TEST(TokenCacheTest, ManyTokensFillEverySetAndNoMore) {
  TokenCache c(64);
  char token[32];
  for (int i = 0; i < 2000; ++i) {
    snprintf(token, sizeof(token), "token-%d", i);
    Insert(c, token, i);
    // The newest entry is always there.
    ASSERT_NE(Find(c, token), nullptr) << i;
    ASSERT_LE(c.size(), 64u);
  }
  EXPECT_EQ(c.size(), 64u);
  int found = 0;
  for (int i = 0; i < 2000; ++i) {
    snprintf(token, sizeof(token), "token-%d", i);
    if (const TokenCache::Entry* e = Find(c, token)) {
      EXPECT_EQ(e->times.exp, i);
      ++found;
    }
  }
  EXPECT_EQ(found, 64);
}

TEST(TokenCacheTest, ZeroHashIsStillAKey) {
  TokenCache c(8);
  EXPECT_EQ(c.Find("zero", 0), nullptr);
  c.Insert("zero", 0, Entry(5));
  ASSERT_NE(c.Find("zero", 0), nullptr);
  EXPECT_EQ(c.Find("zero", 0)->times.exp, 5);
  // The tag a zero hash is stored under, with the same bytes: another
  // token's hash might be 1, and finds "zero" only if it is "zero".
  EXPECT_EQ(c.Find("other", 1), nullptr);
  c.Erase("zero", 0);
  EXPECT_EQ(c.Find("zero", 0), nullptr);
  EXPECT_EQ(c.size(), 0u);
}

// A token-like string: header, payload and a 342-character signature.
std::string TokenLike(char fill) {
  return "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0." + std::string(342, fill);
}

TEST(TokenCacheTest, OneByteAtTheEndMisses) {
  TokenCache c(4096);
  const std::string token = TokenLike('A');
  Insert(c, token, 1);
  std::string other = token;
  other.back() = 'B';
  EXPECT_EQ(Find(c, other), nullptr);
  other = token;
  other.pop_back();
  EXPECT_EQ(Find(c, other), nullptr);
  EXPECT_EQ(Find(c, token + "A"), nullptr);
  ASSERT_NE(Find(c, token), nullptr);
}

// The hash reads only the token's end: a token with the same end and
// length shares the hash, set and tag, and the bytes tell them apart.
TEST(TokenCacheTest, OneByteAtTheStartMissesWithTheSameHash) {
  TokenCache c(4096);
  const std::string token = TokenLike('A');
  std::string other = token;
  other[0] = 'f';
  ASSERT_EQ(c.HashOf(token), c.HashOf(other));
  Insert(c, token, 1);
  EXPECT_EQ(Find(c, other), nullptr);
  // In the middle, as a forged payload with a copied signature would be.
  other = token;
  other[25] ^= 1;
  EXPECT_EQ(Find(c, other), nullptr);
}

TEST(TokenCacheTest, AHashCollisionStillMisses) {
  TokenCache c(16);
  const TokenCache::Hash h = 0x0123456789abcdefULL;
  c.Insert("first token", h, Entry(1));
  EXPECT_EQ(c.Find("second token", h), nullptr);
  EXPECT_EQ(c.Find("first tokem", h), nullptr);
  EXPECT_EQ(c.Find("first token ", h), nullptr);
  // Both can be kept, each with its own verdict.
  c.Insert("second token", h, Entry(2));
  EXPECT_EQ(c.size(), 2u);
  ASSERT_NE(c.Find("first token", h), nullptr);
  EXPECT_EQ(c.Find("first token", h)->times.exp, 1);
  ASSERT_NE(c.Find("second token", h), nullptr);
  EXPECT_EQ(c.Find("second token", h)->times.exp, 2);
}

TEST(TokenCacheTest, TheHashIsKeyed) {
  TokenCache a(16, SipKey{1, 2}), b(16, SipKey{1, 3}), c(16, SipKey{1, 2});
  const std::string token = TokenLike('Q');
  EXPECT_EQ(a.HashOf(token), c.HashOf(token));
  EXPECT_NE(a.HashOf(token), b.HashOf(token));
  // Two caches made without a key draw their own.
  EXPECT_NE(TokenCache(16).HashOf(token), TokenCache(16).HashOf(token));
}

TEST(TokenCacheTest, NoAllocationOnAHit) {
  TokenCache c(64);
  const std::string token = TokenLike('A');
  Insert(c, token, 1);
  const size_t before = stytch_test::Allocations();
  for (int i = 0; i < 100; ++i) ASSERT_NE(Find(c, token), nullptr);
  EXPECT_EQ(stytch_test::Allocations(), before);
}

TEST(TokenCacheTest, EvictionReusesTheBuffer) {
  TokenCache c(1);
  const std::string a = TokenLike('A'), b = TokenLike('B'),
                    shorter = TokenLike('C').substr(5),
                    longer = TokenLike('D') + std::string(1000, 'D');
  const TokenCache::Hash hb = c.HashOf(b), hs = c.HashOf(shorter);
  Insert(c, a, 1);
  const size_t bytes = c.token_bytes();
  EXPECT_EQ(bytes, (a.size() + TokenCache::kBufferUnit - 1) /
                       TokenCache::kBufferUnit * TokenCache::kBufferUnit);
  const size_t before = stytch_test::Allocations();
  // Same size, a few bytes shorter: the evicted token's buffer is taken.
  c.Insert(b, hb, Entry(2));
  c.Insert(shorter, hs, Entry(3));
  EXPECT_EQ(stytch_test::Allocations(), before);
  EXPECT_EQ(c.token_bytes(), bytes);
  EXPECT_EQ(Find(c, a), nullptr);
  EXPECT_EQ(Find(c, b), nullptr);
  ASSERT_NE(Find(c, shorter), nullptr);
  // A longer token needs a longer buffer, which replaces the old one.
  Insert(c, longer, 4);
  EXPECT_GT(c.token_bytes(), bytes);
  EXPECT_EQ(c.size(), 1u);
  ASSERT_NE(Find(c, longer), nullptr);
}

TEST(TokenCacheTest, MemoryIsBoundedByTheTokenLimit) {
  TokenCache c(8);
  const std::string biggest(STYTCH_MAX_TOKEN_SIZE, 'x');
  Insert(c, biggest, 1);
  EXPECT_NE(Find(c, biggest), nullptr);
  Insert(c, biggest + "x", 2);
  EXPECT_EQ(Find(c, biggest + "x"), nullptr);
  EXPECT_EQ(c.size(), 1u);
  for (int i = 0; i < 20; ++i) {
    Insert(c, biggest.substr(0, STYTCH_MAX_TOKEN_SIZE - 1 - i) + "y", i);
  }
  EXPECT_LE(c.token_bytes(), c.capacity() * STYTCH_MAX_TOKEN_SIZE);
}

// The verifier's whole hit path: the cache, the kind and the time checks.
TEST(TokenCacheTest, NoAllocationOnAVerifierHit) {
  VerifierConfig conf;
  conf.project_id = stytch_test::kProject;
  conf.api_url = "https://test.stytch.com";
  conf.cache_size = 64;
  Verifier v(std::move(conf));
  ASSERT_EQ(v.SetJwks(stytch_test::Jwks("good"), nullptr), Status::kOk);
  const std::string token = stytch_test::Token("consumer");
  VerifyParams p;
  p.now = stytch_test::kIat + 10;
  Ref<Session> s;
  bool cached = false;
  ASSERT_EQ(v.Verify(token, p, &s, &cached), Status::kOk);
  ASSERT_FALSE(cached);
  s = Ref<Session>();
  const size_t before = stytch_test::Allocations();
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(v.Verify(token, p, &s, &cached), Status::kOk);
    ASSERT_TRUE(cached);
  }
  EXPECT_EQ(stytch_test::Allocations(), before);
}

}  // namespace
}  // namespace stytch
