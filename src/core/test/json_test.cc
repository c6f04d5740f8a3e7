// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "json.h"

#include <gtest/gtest.h>

#include <string>

namespace stytch {
namespace {

TEST(JsonTest, ParsesObjects) {
  JsonError err;
  JsonPtr j = JsonParse(R"({"a":"b","n":1})", 1024, &err);
  ASSERT_TRUE(j);
  EXPECT_EQ(err, JsonError::kNone);
  EXPECT_EQ(JsonGetString(j.get(), "a").value(), "b");
  EXPECT_FALSE(JsonGetString(j.get(), "n"));
  EXPECT_FALSE(JsonGetString(j.get(), "missing"));
}

TEST(JsonTest, RejectsDuplicateKeys) {
  JsonError err;
  EXPECT_FALSE(JsonParse(R"({"aud":"a","aud":"b"})", 1024, &err));
  EXPECT_EQ(err, JsonError::kSyntax);
  EXPECT_FALSE(JsonParse(R"({"x":{"k":1,"k":2}})", 1024, &err));
}

TEST(JsonTest, RejectsOversizeBeforeParsing) {
  JsonError err;
  const std::string text = R"({"a":")" + std::string(100, 'x') + "\"}";
  EXPECT_FALSE(JsonParse(text, text.size() - 1, &err));
  EXPECT_EQ(err, JsonError::kTooLarge);
  EXPECT_TRUE(JsonParse(text, text.size(), &err));
}

TEST(JsonTest, DepthLimit) {
  auto nested = [](int depth) {
    return std::string(depth, '[') + std::string(depth, ']');
  };
  JsonError err;
  EXPECT_TRUE(JsonParse(nested(kMaxJsonDepth), 1 << 20, &err));
  EXPECT_FALSE(JsonParse(nested(kMaxJsonDepth + 1), 1 << 20, &err));
  EXPECT_EQ(err, JsonError::kTooDeep);
  // Deep enough to hurt jansson (and its 2048 limit) is refused early.
  EXPECT_FALSE(JsonParse(nested(100000), 1 << 20, &err));
  EXPECT_EQ(err, JsonError::kTooDeep);
  std::string objects;
  for (int i = 0; i < 40; ++i) objects += "{\"a\":";
  objects += "1" + std::string(40, '}');
  EXPECT_FALSE(JsonParse(objects, 1 << 20, &err));
  EXPECT_EQ(err, JsonError::kTooDeep);
}

TEST(JsonTest, DepthScanIgnoresBracketsInStrings) {
  const std::string text =
      R"({"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"[[[["})";
  EXPECT_EQ(JsonDepth(text, kMaxJsonDepth), 1);
  EXPECT_TRUE(JsonParse(text, 1024));
}

TEST(JsonTest, RejectsTrailingGarbageAndNul) {
  EXPECT_FALSE(JsonParse(R"({"a":1} x)", 1024));
  EXPECT_FALSE(JsonParse(R"({"a":"b\u0000c"})", 1024));
  EXPECT_FALSE(JsonParse(std::string_view("{\"a\":1}\0", 8), 1024));
  EXPECT_FALSE(JsonParse("", 1024));
}

TEST(JsonTest, DumpIsCompactAndSorted) {
  JsonPtr j = JsonParse(R"({ "b" : [1, 2], "a" : {"y":1, "x":2} })", 1024);
  ASSERT_TRUE(j);
  EXPECT_EQ(JsonDumpCompact(j.get()), R"({"a":{"x":2,"y":1},"b":[1,2]})");
}

TEST(JsonTest, RaiiReleasesReferences) {
  json_t* raw = json_object();
  {
    JsonPtr a(raw);
    JsonPtr b = JsonShare(raw);
    EXPECT_EQ(raw->refcount, 2u);
  }
  // Both references gone; nothing to check without a leak checker but the
  // balance above, which a wrong JsonShare would break.
}

}  // namespace
}  // namespace stytch
