// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "rfc3339.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>

namespace stytch {
namespace {

TEST(Rfc3339Test, Parses) {
  int64_t t = 0;
  ASSERT_TRUE(ParseRfc3339("2024-10-24T02:54:43Z", &t));
  EXPECT_EQ(t, 1729738483);
  ASSERT_TRUE(ParseRfc3339("1970-01-01T00:00:00Z", &t));
  EXPECT_EQ(t, 0);
  ASSERT_TRUE(ParseRfc3339("2024-10-24T02:54:43.123456Z", &t));
  EXPECT_EQ(t, 1729738483);
  ASSERT_TRUE(ParseRfc3339("2024-10-24T04:54:43+02:00", &t));
  EXPECT_EQ(t, 1729738483);
  ASSERT_TRUE(ParseRfc3339("2024-10-23T21:54:43-05:00", &t));
  EXPECT_EQ(t, 1729738483);
  ASSERT_TRUE(ParseRfc3339("2024-02-29T00:00:00Z", &t));
  ASSERT_TRUE(ParseRfc3339("2016-12-31T23:59:60Z", &t));
  EXPECT_EQ(t, 1483228800);
}

// The arithmetic against the C library's timegm, over every year that four
// digits spell, the last day of each month and a leap second.
TEST(Rfc3339Test, AgreesWithTimegm) {
  static const int kLast[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  for (int year = 0; year <= 9999; ++year) {
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    for (int month = 1; month <= 12; ++month) {
      const int last = kLast[month - 1] + (month == 2 && leap);
      for (int day : {1, last}) {
        const int hour = (year + month) % 24, minute = (year * 7) % 60,
                  second = day == 1 ? 60 : (year * 13 + month) % 60;
        char text[64];
        snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02dZ", year,
                 month, day, hour, minute, second);
        struct tm tm = {};
        tm.tm_year = year - 1900;
        tm.tm_mon = month - 1;
        tm.tm_mday = day;
        tm.tm_hour = hour;
        tm.tm_min = minute;
        tm.tm_sec = second;
        int64_t t = 0;
        ASSERT_TRUE(ParseRfc3339(text, &t)) << text;
        ASSERT_EQ(t, static_cast<int64_t>(timegm(&tm))) << text;
      }
    }
  }
}

TEST(Rfc3339Test, Strict) {
  int64_t t;
  for (const char* bad : {"",
                          "2024-10-24",
                          "2024-10-24T02:54:43",
                          "2024-10-24 02:54:43Z",
                          "2024-10-24t02:54:43Z",
                          "2024-10-24T02:54:43z",
                          "2024-13-01T00:00:00Z",
                          "2024-00-01T00:00:00Z",
                          "2023-02-29T00:00:00Z",
                          "2024-02-30T00:00:00Z",
                          "2024-04-31T00:00:00Z",
                          "2024-10-24T24:00:00Z",
                          "2024-10-24T02:60:00Z",
                          "2024-10-24T02:54:61Z",
                          "2024-10-24T02:54:43.Z",
                          "2024-10-24T02:54:43+0200",
                          "2024-10-24T02:54:43+24:00",
                          "2024-10-24T02:54:43Zjunk",
                          "24-10-24T02:54:43Z",
                          "2024-1-24T02:54:43Z",
                          "+024-10-24T02:54:43Z",
                          "2024-10-24T02:54:43+02"}) {
    EXPECT_FALSE(ParseRfc3339(bad, &t)) << bad;
  }
}

TEST(Rfc3339Test, Formats) {
  EXPECT_EQ(FormatRfc3339(1729738483), "2024-10-24T02:54:43Z");
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(int64_t{1} << 62), "");
  int64_t back;
  ASSERT_TRUE(ParseRfc3339(FormatRfc3339(1760000300), &back));
  EXPECT_EQ(back, 1760000300);
}

}  // namespace
}  // namespace stytch
