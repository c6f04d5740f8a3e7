// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "jwt.h"

#include <gtest/gtest.h>

#include <string>

#include "base64url.h"
#include "test_util.h"

namespace stytch {
namespace {

using stytch_test::B64;
using stytch_test::Forge;
using stytch_test::Rs256Header;
using stytch_test::Token;

// Both splitters, which must agree on every input.
Status Split(const std::string& token) {
  JwsSegments seg, seg2;
  std::string payload, signature;
  const Status st = SplitJws(token, &seg);
  EXPECT_EQ(SplitJwsDecoding(token, &seg2, &payload, &signature), st)
      << token.substr(0, 64);
  if (st == Status::kOk) {
    std::string want;
    EXPECT_TRUE(Base64UrlDecode(seg.payload, &want));
    EXPECT_EQ(payload, want);
    EXPECT_TRUE(Base64UrlDecode(seg.signature, &want));
    EXPECT_EQ(signature, want);
  }
  return st;
}

Status Header(const std::string& json) {
  JwtHeader h;
  return ParseJwtHeader(B64(json), &h);
}

TEST(JwtSplitTest, ThreeSegments) {
  const std::string t = Token("consumer");
  EXPECT_EQ(Split(t), Status::kOk);
  JwsSegments seg;
  ASSERT_EQ(SplitJws(t, &seg), Status::kOk);
  EXPECT_EQ(seg.signing_input.size() + 1 + seg.signature.size(), t.size());
  EXPECT_EQ(seg.signing_input,
            std::string(seg.header) + "." + std::string(seg.payload));
}

TEST(JwtSplitTest, WrongSegmentCounts) {
  EXPECT_EQ(Split("abc"), Status::kTokenMalformed);
  EXPECT_EQ(Split("abc.def"), Status::kTokenMalformed);
  EXPECT_EQ(Split("abc.def.ghi.jkl"), Status::kTokenMalformed);
  EXPECT_EQ(Split("abc.def.ghi.jkl.mno"), Status::kTokenMalformed);
  EXPECT_EQ(Split(".def.ghi"), Status::kTokenMalformed);
  EXPECT_EQ(Split("abc..ghi"), Status::kTokenMalformed);
  EXPECT_EQ(Split(".."), Status::kTokenMalformed);
  const std::string t = Token("consumer");
  EXPECT_EQ(Split(t + ".abc"), Status::kTokenMalformed);
  EXPECT_EQ(Split(t + "." + t), Status::kTokenMalformed);
}

TEST(JwtSplitTest, PaddingAndIllegalCharacters) {
  const std::string t = Token("consumer");
  const size_t dot = t.rfind('.');
  EXPECT_EQ(Split(t + "="), Status::kTokenMalformed);
  EXPECT_EQ(Split(t + "=="), Status::kTokenMalformed);
  EXPECT_EQ(Split(t.substr(0, dot) + ".abc+def"), Status::kTokenMalformed);
  EXPECT_EQ(Split(t.substr(0, dot) + ".abc/def"), Status::kTokenMalformed);
  EXPECT_EQ(Split(" " + t), Status::kTokenMalformed);
  EXPECT_EQ(Split(t + "\n"), Status::kTokenMalformed);
  std::string mid = t;
  mid[10] = '*';
  EXPECT_EQ(Split(mid), Status::kTokenMalformed);
}

TEST(JwtSplitTest, SizeIsCheckedFirst) {
  EXPECT_EQ(Split(""), Status::kTokenMissing);
  // 1 MB of garbage is refused for its size, not parsed.
  EXPECT_EQ(Split(std::string(1 << 20, '.')), Status::kTokenTooLarge);
  EXPECT_EQ(Split(std::string(STYTCH_MAX_TOKEN_SIZE + 1, 'a')),
            Status::kTokenTooLarge);
  EXPECT_EQ(Split(std::string(STYTCH_MAX_TOKEN_SIZE, 'a')),
            Status::kTokenMalformed);
}

TEST(JwtHeaderTest, AcceptsStytchHeader) {
  JwtHeader h;
  ASSERT_EQ(ParseJwtHeader(B64(Rs256Header()), &h), Status::kOk);
  EXPECT_EQ(h.kid, stytch_test::kKid1);
  EXPECT_EQ(Header(R"({"alg":"RS256","kid":"k"})"), Status::kOk);
  EXPECT_EQ(Header(R"({"alg":"RS256","kid":"k","typ":"jwt"})"), Status::kOk);
  EXPECT_EQ(Header(R"({"alg":"RS256","kid":"k","typ":"JwT"})"), Status::kOk);
}

TEST(JwtHeaderTest, NotAnObject) {
  EXPECT_EQ(Header("[]"), Status::kJwtHeaderInvalid);
  EXPECT_EQ(Header("\"RS256\""), Status::kJwtHeaderInvalid);
  EXPECT_EQ(Header("{"), Status::kJwtHeaderInvalid);
  EXPECT_EQ(Header(R"({"alg":"RS256","alg":"RS256","kid":"k"})"),
            Status::kJwtHeaderInvalid);
  EXPECT_EQ(Header(std::string(40, '[') + std::string(40, ']')),
            Status::kJwtHeaderInvalid);
}

TEST(JwtHeaderTest, OnlyRs256) {
  for (const char* alg :
       {"none", "None", "HS256", "HS384", "HS512", "ES256", "ES384", "PS256",
        "PS512", "RS384", "RS512", "rs256", "RS256 ", "EdDSA", ""}) {
    EXPECT_EQ(Header(std::string(R"({"alg":")") + alg + R"(","kid":"k"})"),
              Status::kJwtAlgNotAllowed)
        << alg;
  }
  EXPECT_EQ(Header(R"({"kid":"k"})"), Status::kJwtAlgNotAllowed);
  EXPECT_EQ(Header(R"({"alg":null,"kid":"k"})"), Status::kJwtAlgNotAllowed);
  EXPECT_EQ(Header(R"({"alg":["RS256"],"kid":"k"})"),
            Status::kJwtAlgNotAllowed);
}

TEST(JwtHeaderTest, AlgIsCheckedBeforeKid) {
  EXPECT_EQ(Header(R"({"alg":"HS256"})"), Status::kJwtAlgNotAllowed);
}

TEST(JwtHeaderTest, KidRequiredString) {
  EXPECT_EQ(Header(R"({"alg":"RS256"})"), Status::kJwtKidMissing);
  EXPECT_EQ(Header(R"({"alg":"RS256","kid":""})"), Status::kJwtKidMissing);
  EXPECT_EQ(Header(R"({"alg":"RS256","kid":42})"), Status::kJwtKidMissing);
  EXPECT_EQ(Header(R"({"alg":"RS256","kid":null})"), Status::kJwtKidMissing);
  EXPECT_EQ(Header(R"({"alg":"RS256","kid":")" + std::string(300, 'k') + "\"}"),
            Status::kJwtHeaderInvalid);
}

TEST(JwtHeaderTest, Typ) {
  EXPECT_EQ(Header(R"({"alg":"RS256","kid":"k","typ":"at+jwt"})"),
            Status::kJwtTypInvalid);
  EXPECT_EQ(Header(R"({"alg":"RS256","kid":"k","typ":"JWS"})"),
            Status::kJwtTypInvalid);
  EXPECT_EQ(Header(R"({"alg":"RS256","kid":"k","typ":""})"),
            Status::kJwtTypInvalid);
  EXPECT_EQ(Header(R"({"alg":"RS256","kid":"k","typ":1})"),
            Status::kJwtTypInvalid);
  EXPECT_EQ(Header(R"({"alg":"RS256","kid":"k","typ":"application/"})"),
            Status::kJwtTypInvalid);
  EXPECT_EQ(Header(R"({"alg":"RS256","kid":"k","typ":"application/at+jwt"})"),
            Status::kJwtTypInvalid);
}

// As jose compares it: the media type's "application/" prefix is optional.
TEST(JwtHeaderTest, TypMediaTypeAccepted) {
  EXPECT_EQ(Header(R"({"alg":"RS256","kid":"k","typ":"application/jwt"})"),
            Status::kOk);
  EXPECT_EQ(Header(R"({"alg":"RS256","kid":"k","typ":"Application/JWT"})"),
            Status::kOk);
  EXPECT_EQ(Header(R"({"alg":"RS256","kid":"k","typ":"jwt"})"), Status::kOk);
  EXPECT_EQ(Header(R"({"alg":"RS256","kid":"k"})"), Status::kOk);
}

TEST(JwtHeaderTest, CritRefusedWhateverItsValue) {
  EXPECT_EQ(Header(R"({"alg":"RS256","kid":"k","crit":["exp"]})"),
            Status::kJwtCritPresent);
  EXPECT_EQ(Header(R"({"alg":"RS256","kid":"k","crit":[]})"),
            Status::kJwtCritPresent);
  EXPECT_EQ(Header(R"({"alg":"RS256","kid":"k","crit":null})"),
            Status::kJwtCritPresent);
}

TEST(JwtHeaderTest, KeyUrlHeadersAreIgnored) {
  JwtHeader h;
  EXPECT_EQ(ParseJwtHeader(B64(R"({"alg":"RS256","kid":"k",)"
                               R"("jku":"https://evil","x5u":"https://evil",)"
                               R"("jwk":{"kty":"RSA"},"x5c":["AAAA"]})"),
                           &h),
            Status::kOk);
  EXPECT_EQ(h.kid, "k");
}

TEST(JwtPayloadTest, MustBeAnObject) {
  std::unique_ptr<JwtPayload> p;
  EXPECT_EQ(ParseJwtPayload(B64(R"({"sub":"u"})"), &p), Status::kOk);
  EXPECT_EQ(ParseJwtPayload(B64("[1]"), &p), Status::kJwtPayloadInvalid);
  EXPECT_EQ(ParseJwtPayload(B64("not json"), &p), Status::kJwtPayloadInvalid);
  EXPECT_EQ(ParseJwtPayload(B64(R"({"a":1,"a":2})"), &p),
            Status::kJwtPayloadInvalid);
  EXPECT_EQ(ParseJwtPayload(B64(std::string(1000, '[')), &p),
            Status::kJwtPayloadInvalid);
}

TEST(JwtPayloadTest, ForgeHelperRoundTrips) {
  JwsSegments seg;
  const std::string t = Forge(Rs256Header(), R"({"a":1})");
  ASSERT_EQ(SplitJws(t, &seg), Status::kOk);
  std::unique_ptr<JwtPayload> p;
  ASSERT_EQ(ParseJwtPayload(seg.payload, &p), Status::kOk);
  EXPECT_EQ(p->doc.Get(p->root(), "a")->integer, 1);
  EXPECT_EQ(p->text(), R"({"a":1})");
}

// The text as signed stays for jansson, escapes and all, beside the copy
// the parse decodes in place; decoded by SplitJwsDecoding, it takes no
// buffer of its own.
TEST(JwtPayloadTest, TextKeptInTheParsesBuffer) {
  const std::string json = R"({"a":"x\u0041\n","b":[1,2.5,"\u00e9"]})";
  const std::string t = Forge(Rs256Header(), json);
  JwsSegments seg;
  std::string text, sig;
  ASSERT_EQ(SplitJwsDecoding(t, &seg, &text, &sig), Status::kOk);
  std::unique_ptr<JwtPayload> p;
  const size_t before = stytch_test::Allocations();
  ASSERT_EQ(ParseJwtPayloadJson(std::move(text), &p), Status::kOk);
  // The JwtPayload and its nodes.
  EXPECT_EQ(stytch_test::Allocations() - before, 2u);
  EXPECT_EQ(p->text(), json);
  EXPECT_EQ(p->doc.GetString(p->root(), "a"), "xA\n");
  // A payload that fails keeps no text.
  InsituJson bad;
  EXPECT_FALSE(bad.Parse("{\"a\":", 32, true));
  EXPECT_EQ(bad.text(), "");
}

}  // namespace
}  // namespace stytch
