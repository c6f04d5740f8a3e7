#include "token_cache.h"

#include <gtest/gtest.h>

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

TEST(TokenCacheTest, KeysDifferingInOneBitAreDistinct) {
  TokenCache c(8);
  c.Insert(Key("token-a"), Entry(1));
  EXPECT_EQ(c.Find(Key("token-b")), nullptr);
  EXPECT_EQ(c.Find(Key("token-a ")), nullptr);
}

}  // namespace
}  // namespace stytch
