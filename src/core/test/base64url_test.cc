// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "base64url.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "test_util.h"

namespace stytch {
namespace {

TEST(Base64UrlTest, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg"},
      {"fo", "Zm8"},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg"},
      {"fooba", "Zm9vYmE"},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, enc] : vectors) {
    std::string out;
    ASSERT_TRUE(Base64UrlDecode(enc, &out)) << enc;
    EXPECT_EQ(out, plain);
    EXPECT_EQ(Base64UrlEncode(plain), enc);
    EXPECT_TRUE(Base64UrlValid(enc));
  }
}

TEST(Base64UrlTest, UrlAlphabet) {
  std::string out;
  ASSERT_TRUE(Base64UrlDecode("-_-_", &out));
  EXPECT_EQ(out, "\xfb\xff\xbf");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff\xbf"), "-_-_");
}

TEST(Base64UrlTest, RoundTripsAllByteValuesAndLengths) {
  std::string data;
  for (int i = 0; i < 256; ++i) data += static_cast<char>(i);
  for (size_t len = 0; len <= data.size(); len += 7) {
    const std::string in = data.substr(0, len);
    const std::string enc = stytch_test::B64(in);
    EXPECT_EQ(Base64UrlEncode(in), enc);
    std::string out;
    ASSERT_TRUE(Base64UrlDecode(enc, &out));
    EXPECT_EQ(out, in);
  }
}

// The decoder takes eight characters at a time, then four, then the rest:
// a bad byte is found wherever it falls, in every length, and the decoder
// agrees with Base64UrlValid.
TEST(Base64UrlTest, EveryByteAtEveryPositionOfEveryShortLength) {
  std::string data;
  for (int i = 0; i < 40; ++i) data += static_cast<char>(i * 37 + 11);
  for (size_t len = 0; len <= data.size(); ++len) {
    const std::string enc = stytch_test::B64(data.substr(0, len));
    for (size_t pos = 0; pos < enc.size(); ++pos) {
      for (int c = 0; c < 256; ++c) {
        std::string bad = enc;
        bad[pos] = static_cast<char>(c);
        std::string out;
        const bool ok = Base64UrlDecode(bad, &out);
        ASSERT_EQ(ok, Base64UrlValid(bad)) << bad;
        const bool alphabet = isalnum(c) || c == '-' || c == '_';
        if (!alphabet) {
          ASSERT_FALSE(ok) << len << " " << pos << " " << c;
        }
        if (ok) {
          ASSERT_EQ(Base64UrlEncode(out), bad);
        }
      }
    }
  }
}

TEST(Base64UrlTest, RejectsPadding) {
  std::string out;
  EXPECT_FALSE(Base64UrlDecode("Zg==", &out));
  EXPECT_FALSE(Base64UrlDecode("Zm8=", &out));
  EXPECT_FALSE(Base64UrlValid("Zg=="));
}

TEST(Base64UrlTest, RejectsStandardAlphabetAndWhitespace) {
  std::string out;
  for (const char* bad : {"+/+/", "ab+c", "ab/c", "Zm9v Yg", "Zm9v\nYg",
                          " Zm9v", "Zm9v\t", "Zm9v.", "Zm9\x80"}) {
    EXPECT_FALSE(Base64UrlDecode(bad, &out)) << bad;
    EXPECT_FALSE(Base64UrlValid(bad)) << bad;
  }
  EXPECT_FALSE(Base64UrlDecode(std::string_view("Zm\0v", 4), &out));
}

TEST(Base64UrlTest, RejectsImpossibleLength) {
  std::string out;
  EXPECT_FALSE(Base64UrlDecode("Z", &out));
  EXPECT_FALSE(Base64UrlDecode("Zm9vY", &out));
  EXPECT_FALSE(Base64UrlValid("Zm9vY"));
}

TEST(Base64UrlTest, RejectsNonCanonicalTrailingBits) {
  std::string out;
  // "Zg" is canonical for "f"; "Zh".."Zv" carry the same byte plus bits
  // that the encoding has no room for.
  EXPECT_TRUE(Base64UrlDecode("Zg", &out));
  EXPECT_FALSE(Base64UrlDecode("Zh", &out));
  EXPECT_FALSE(Base64UrlDecode("Zv", &out));
  EXPECT_FALSE(Base64UrlValid("Zh"));
  // Same for two bytes: "Zm8" is canonical, "Zm9" is not.
  EXPECT_TRUE(Base64UrlDecode("Zm8", &out));
  EXPECT_FALSE(Base64UrlDecode("Zm9", &out));
  EXPECT_FALSE(Base64UrlValid("Zm9"));
}

TEST(Base64UrlTest, FailureLeavesOutputEmpty) {
  std::string out = "stale";
  EXPECT_FALSE(Base64UrlDecode("Z===", &out));
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace stytch
