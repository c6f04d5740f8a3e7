// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "insitu_json.h"

#include <gtest/gtest.h>
#include <jansson.h>

#include <string>

namespace stytch {
namespace {

bool Parses(const std::string& text, int depth = 32) {
  InsituJson j;
  return j.Parse(text, depth);
}

// jansson's verdict, with the flags the core gives it.
bool JanssonParses(const std::string& text) {
  json_error_t e;
  json_t* j = json_loadb(text.data(), text.size(), JSON_REJECT_DUPLICATES, &e);
  json_decref(j);
  return j != nullptr;
}

TEST(InsituJsonTest, ValuesAndNavigation) {
  InsituJson j;
  ASSERT_TRUE(j.Parse(
      R"( {"s":"a\"b\\c\/\u00e9\ud83d\ude00","i":-42,"r":1.5e3,"t":true,)"
      R"("f":false,"n":null,"a":[1,[2],{}],"o":{"k":"v"}} )",
      32));
  const JNode* root = j.root();
  ASSERT_EQ(root->type, JType::kObject);
  EXPECT_EQ(root->count, 8u);
  EXPECT_EQ(j.GetString(root, "s").value(), "a\"b\\c/\xc3\xa9\xf0\x9f\x98\x80");
  // Strings are NUL-terminated in place.
  EXPECT_EQ(j.Get(root, "s")->str[j.Get(root, "s")->str_len], '\0');
  EXPECT_EQ(j.Get(root, "i")->type, JType::kInteger);
  EXPECT_EQ(j.Get(root, "i")->integer, -42);
  EXPECT_EQ(j.Get(root, "r")->type, JType::kReal);
  EXPECT_EQ(j.Get(root, "t")->type, JType::kTrue);
  EXPECT_EQ(j.Get(root, "f")->type, JType::kFalse);
  EXPECT_EQ(j.Get(root, "n")->type, JType::kNull);
  const JNode* a = j.Get(root, "a");
  ASSERT_EQ(a->type, JType::kArray);
  EXPECT_EQ(a->count, 3u);
  const JNode* e0 = j.First(a);
  EXPECT_EQ(e0->integer, 1);
  EXPECT_EQ(j.Next(e0)->type, JType::kArray);
  EXPECT_EQ(j.First(j.Next(e0))->integer, 2);
  EXPECT_EQ(j.Next(j.Next(e0))->type, JType::kObject);
  EXPECT_EQ(j.Next(j.Next(j.Next(e0))), nullptr);
  EXPECT_EQ(j.GetString(j.Get(root, "o"), "k").value(), "v");
  EXPECT_FALSE(j.GetString(root, "i"));
  EXPECT_EQ(j.Get(root, "missing"), nullptr);
  EXPECT_EQ(j.Get(a, "x"), nullptr);
}

TEST(InsituJsonTest, IntegerRange) {
  InsituJson j;
  ASSERT_TRUE(j.Parse(R"({"max":9223372036854775807,)"
                      R"("min":-9223372036854775808,"z":-0})",
                      32));
  EXPECT_EQ(j.Get(j.root(), "max")->integer, INT64_MAX);
  EXPECT_EQ(j.Get(j.root(), "min")->integer, INT64_MIN);
  EXPECT_EQ(j.Get(j.root(), "z")->integer, 0);
  EXPECT_FALSE(Parses(R"({"x":9223372036854775808})"));
  EXPECT_FALSE(Parses(R"({"x":-9223372036854775809})"));
  EXPECT_FALSE(Parses(R"({"x":1e400})"));
}

TEST(InsituJsonTest, DuplicateKeys) {
  EXPECT_FALSE(Parses(R"({"a":1,"a":2})"));
  EXPECT_FALSE(Parses(R"({"x":{"b":1,"c":2,"b":3}})"));
  // The same key written two ways is still the same key.
  EXPECT_FALSE(Parses(R"({"a":1,"\u0061":2})"));
  // Large objects take the sorted path.
  std::string big = "{";
  for (int i = 0; i < 100; ++i) big += "\"k" + std::to_string(i) + "\":0,";
  EXPECT_TRUE(Parses(big + "\"last\":0}"));
  EXPECT_FALSE(Parses(big + "\"k57\":0}"));
  // Same keys in sibling objects are fine.
  EXPECT_TRUE(Parses(R"({"a":{"k":1},"b":{"k":1}})"));
}

TEST(InsituJsonTest, Depth) {
  auto nested = [](int n) { return std::string(n, '[') + std::string(n, ']'); };
  EXPECT_TRUE(Parses(nested(32)));
  EXPECT_FALSE(Parses(nested(33)));
  EXPECT_FALSE(Parses(nested(100000)));
}

// Every one of these is refused by jansson too: the reader must never
// accept a payload that jansson (which renders custom claims) refuses.
TEST(InsituJsonTest, RefusesWhatJanssonRefuses) {
  const std::string bad[] = {
      "",
      " ",
      "{",
      "}",
      "{]",
      "[}",
      "{\"a\"}",
      "{\"a\":}",
      "{\"a\" 1}",
      "{\"a\":1,}",
      "[1,]",
      "[,1]",
      "{,}",
      "{'a':1}",
      "{a:1}",
      "{\"a\":01}",
      "{\"a\":-}",
      "{\"a\":1.}",
      "{\"a\":.5}",
      "{\"a\":1e}",
      "{\"a\":+1}",
      "{\"a\":0x10}",
      "{\"a\":NaN}",
      "{\"a\":Infinity}",
      "{\"a\":tru}",
      "{\"a\":nul}",
      "{\"a\":True}",
      "{\"a\":\"\\x\"}",
      "{\"a\":\"\\u12\"}",
      "{\"a\":\"\\u0000\"}",
      "{\"a\":\"\\ud800\"}",
      "{\"a\":\"\\udc00\"}",
      "{\"a\":\"\\ud800\\u0041\"}",
      "{\"a\":\"tab\there\"}",
      "{\"a\":\"nl\nhere\"}",
      "{\"a\":\"unterminated}",
      "{\"a\":\"\xc0\x80\"}",
      "{\"a\":\"\xc3\"}",
      "{\"a\":\"\xed\xa0\x80\"}",
      "{\"a\":\"\xf4\x90\x80\x80\"}",
      "{\"a\":\"\xff\"}",
      "{\"a\":\"\x80\"}",
      "{\"a\":\"\xe0\x80\xaf\"}",
      "{\"a\":\"\xf0\x80\x80\xaf\"}",
      "{\"a\":1} x",
      "{\"a\":1}{}",
      std::string("{\"a\":1}\0", 8),
      "{\"a\":1,\"a\":1}",
      "\xef\xbb\xbf{}",
  };
  for (const std::string& b : bad) {
    EXPECT_FALSE(Parses(b)) << b;
    EXPECT_FALSE(JanssonParses(b)) << "jansson accepts " << b;
  }
}

TEST(InsituJsonTest, AcceptsWhatJanssonAccepts) {
  const std::string good[] = {
      "{}",
      "[]",
      " {\"a\" : [ 1 , 2 ] } \n",
      "{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}",
      "{\"a\":\"\\ud83d\\ude00\"}",
      "{\"a\":-0.0e+0}",
      "{\"a\":1E-5}",
      "{\"\":1}",
      "{\"a\":\"\\u00e9\"}",
      "{\"a\":\"\xef\xbf\xbf\"}",
  };
  for (const std::string& g : good) {
    EXPECT_TRUE(Parses(g)) << g;
    EXPECT_TRUE(JanssonParses(g)) << g;
  }
}

// Strings are skipped eight bytes at a time while plain: a byte that is
// not (quote, backslash, control, DEL, UTF-8, invalid UTF-8) is seen at
// each place in and around an eight-byte word, and the verdict and value
// agree with jansson's.
TEST(InsituJsonTest, EveryByteAtEveryPlaceOfAString) {
  const char* specials[] = {"\"", "\\", "\\n", "\\u00e9", "\\u0041",
                            "\x01", "\x1f", "\x7f", "\xc3\xa9",
                            "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc3",
                            "\xff", "\x80", " ", "~"};
  for (size_t len = 0; len <= 24; ++len) {
    for (size_t pos = 0; pos <= len; ++pos) {
      for (const char* sp : specials) {
        std::string str(len, 'a');
        str.insert(pos, sp);
        const std::string text = "{\"k\":\"" + str + "\",\"z\":1}";
        InsituJson j;
        const bool ok = j.Parse(text, 32);
        ASSERT_EQ(ok, JanssonParses(text)) << text;
        if (!ok) continue;
        json_error_t e;
        json_t* want = json_loadb(text.data(), text.size(), 0, &e);
        ASSERT_NE(want, nullptr);
        const auto got = j.GetString(j.root(), "k");
        ASSERT_TRUE(got.has_value());
        EXPECT_EQ(*got, std::string(json_string_value(json_object_get(want, "k")),
                                    json_string_length(json_object_get(want, "k"))))
            << text;
        json_decref(want);
        ASSERT_NE(j.Get(j.root(), "z"), nullptr);
      }
    }
  }
}

TEST(InsituJsonTest, ScalarDocuments) {
  // jansson wants JSON_DECODE_ANY for these; payloads must be objects
  // anyway, which ParseJwtPayloadJson checks.
  EXPECT_TRUE(Parses("0"));
  EXPECT_TRUE(Parses("\"s\""));
  EXPECT_TRUE(Parses("null"));
}

TEST(InsituJsonTest, KeysAreDecoded) {
  InsituJson j;
  ASSERT_TRUE(j.Parse(R"({"a\u0062c":1})", 32));
  EXPECT_EQ(j.Get(j.root(), "abc")->integer, 1);
}

}  // namespace
}  // namespace stytch
