// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "token_cache.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "verify.h"

namespace stytch {
namespace {

TokenDigest Key(const char* token) {
  TokenDigest d;
  EXPECT_TRUE(Sha256(token, d.data()));
  return d;
}

TokenCache::Entry Entry(int64_t exp) {
  TokenCache::Entry e;
  e.times.exp = exp;
  return e;
}

TEST(TokenCacheTest, FindInsert) {
  TokenCache c(4);
  EXPECT_EQ(c.Find(Key("a")), nullptr);
  c.Insert(Key("a"), Entry(1));
  ASSERT_NE(c.Find(Key("a")), nullptr);
  EXPECT_EQ(c.Find(Key("a"))->times.exp, 1);
  EXPECT_EQ(c.Find(Key("b")), nullptr);
  c.Insert(Key("a"), Entry(2));
  EXPECT_EQ(c.size(), 1u);
  EXPECT_EQ(c.Find(Key("a"))->times.exp, 2);
}

TEST(TokenCacheTest, EvictsLeastRecentlyUsed) {
  TokenCache c(2);
  c.Insert(Key("a"), Entry(1));
  c.Insert(Key("b"), Entry(2));
  ASSERT_NE(c.Find(Key("a")), nullptr);  // a is now the most recent
  c.Insert(Key("c"), Entry(3));
  EXPECT_EQ(c.size(), 2u);
  EXPECT_NE(c.Find(Key("a")), nullptr);
  EXPECT_EQ(c.Find(Key("b")), nullptr);
  EXPECT_NE(c.Find(Key("c")), nullptr);
}

TEST(TokenCacheTest, ZeroCapacityHoldsNothing) {
  TokenCache c(0);
  c.Insert(Key("a"), Entry(1));
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.Find(Key("a")), nullptr);
}

TEST(TokenCacheTest, EraseAndClear) {
  TokenCache c(8);
  c.Insert(Key("a"), Entry(1));
  c.Insert(Key("b"), Entry(2));
  c.Erase(Key("a"));
  EXPECT_EQ(c.Find(Key("a")), nullptr);
  EXPECT_EQ(c.size(), 1u);
  c.Erase(Key("zz"));
  c.Clear();
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.Find(Key("b")), nullptr);
}

// A digest in set `set` (0 or 1) of a two-set cache, told apart by `n`:
// the set is bytes 8..15 modulo 2, 0x0101..01 * set in either byte order.
TokenDigest InSet(uint8_t set, uint8_t n) {
  TokenDigest d{};
  d[0] = n;  // the tag
  for (int i = 8; i < 16; ++i) d[i] = set;
  return d;
}

TEST(TokenCacheTest, CapacityIsRoundedToWholeSets) {
  EXPECT_EQ(TokenCache(1).capacity(), 1u);
  EXPECT_EQ(TokenCache(7).capacity(), 7u);
  EXPECT_EQ(TokenCache(8).capacity(), 8u);
  EXPECT_EQ(TokenCache(9).capacity(), 16u);
  EXPECT_EQ(TokenCache(4096).capacity(), 4096u);
}

TEST(TokenCacheTest, EachSetEvictsItsLeastRecentlyUsed) {
  TokenCache c(16);  // two sets of eight
  ASSERT_EQ(c.capacity(), 16u);
  for (uint8_t n = 1; n <= 8; ++n) c.Insert(InSet(0, n), Entry(n));
  c.Insert(InSet(1, 1), Entry(100));
  EXPECT_EQ(c.size(), 9u);
  ASSERT_NE(c.Find(InSet(0, 1)), nullptr);  // 1 is now the most recent
  c.Insert(InSet(0, 9), Entry(9));          // evicts 2
  EXPECT_EQ(c.size(), 9u);
  EXPECT_EQ(c.Find(InSet(0, 2)), nullptr);
  for (uint8_t n : {1, 3, 4, 5, 6, 7, 8, 9}) {
    ASSERT_NE(c.Find(InSet(0, n)), nullptr) << int(n);
    EXPECT_EQ(c.Find(InSet(0, n))->times.exp, n);
  }
  // The other set lost nothing.
  ASSERT_NE(c.Find(InSet(1, 1)), nullptr);
  EXPECT_EQ(c.Find(InSet(1, 1))->times.exp, 100);
}

TEST(TokenCacheTest, ManyKeysFillEverySetAndNoMore) {
  TokenCache c(64);
  char token[32];
  for (int i = 0; i < 2000; ++i) {
    snprintf(token, sizeof(token), "token-%d", i);
    c.Insert(Key(token), Entry(i));
    // The newest entry is always there.
    ASSERT_NE(c.Find(Key(token)), nullptr) << i;
    ASSERT_LE(c.size(), 64u);
  }
  EXPECT_EQ(c.size(), 64u);
  int found = 0;
  for (int i = 0; i < 2000; ++i) {
    snprintf(token, sizeof(token), "token-%d", i);
    if (const TokenCache::Entry* e = c.Find(Key(token))) {
      EXPECT_EQ(e->times.exp, i);
      ++found;
    }
  }
  EXPECT_EQ(found, 64);
}

TEST(TokenCacheTest, ZeroTagIsStillAKey) {
  TokenCache c(8);
  TokenDigest zero{};
  EXPECT_EQ(c.Find(zero), nullptr);
  c.Insert(zero, Entry(5));
  ASSERT_NE(c.Find(zero), nullptr);
  EXPECT_EQ(c.Find(zero)->times.exp, 5);
  TokenDigest one{};
  one[0] = 1;  // the tag a zero digest is stored under
  EXPECT_EQ(c.Find(one), nullptr);
  c.Erase(zero);
  EXPECT_EQ(c.Find(zero), nullptr);
  EXPECT_EQ(c.size(), 0u);
}

TEST(TokenCacheTest, KeysDifferingInOneBitAreDistinct) {
  TokenCache c(8);
  c.Insert(Key("token-a"), Entry(1));
  EXPECT_EQ(c.Find(Key("token-b")), nullptr);
  EXPECT_EQ(c.Find(Key("token-a ")), nullptr);
}

}  // namespace
}  // namespace stytch
