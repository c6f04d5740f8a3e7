// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// How much the core adds to the RSA verification it cannot avoid.
//
//   VerifyUncached  the whole path on a typical (~1 kB) Stytch session JWT:
//                   split, header, key lookup, RS256, payload, claims,
//                   session; key set parsed, cache disabled
//   VerifyCached    the same token found in the verified-token cache
//   VerifyMissEvicting  two tokens in turn through a one-entry cache: each
//                   call hashes the token, misses, verifies, inserts and
//                   evicts, as with more live tokens than the cache holds
//   RawEvpVerify    EVP_DigestVerifyInit + EVP_DigestVerify of the same
//                   signature and bytes with the same key, as most code does
//   RsaVerifyFloor  EVP_PKEY_verify of a ready digest: what `openssl speed
//                   rsa2048` reports as verify time, the true floor
//   VerifyDistinct  8192 distinct large (~1.5 kB) tokens in turn through a
//                   2048-entry cache, as the distinct rows of make bench:
//                   every call misses, verifies, builds and evicts, with
//                   the memory of the cache and its sessions out of the CPU
//                   caches as it is in NGINX
//   Step*           each step of the first sight of a large token alone:
//                   split and decode, SHA-256 of the signing input, RSA,
//                   payload JSON (alone, and with the session made and
//                   released), cache insert with eviction
//   Sha256Token     SHA-256 of the whole token (the old cache key)
//   CacheHashOf     the cache's keyed hash of the token's end

#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "base64url.h"
#include "jwks.h"
#include "jwt.h"
#include "session.h"
#include "token_cache.h"
#include "verifier.h"

namespace {

constexpr int64_t kIat = 1760000000;

std::string Read(const std::string& rel) {
  std::ifstream in(std::string(STYTCH_FIXTURES_DIR) + "/" + rel,
                   std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + rel);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

std::unique_ptr<stytch::Verifier> MakeVerifier(size_t cache_size) {
  stytch::VerifierConfig c;
  c.project_id = "project-test-00000000-0000-0000-0000-000000000000";
  c.api_url = "https://test.stytch.com";
  c.cache_size = cache_size;
  auto v = std::make_unique<stytch::Verifier>(std::move(c));
  if (v->SetJwks(Read("jwks/good.json"), nullptr) != stytch::Status::kOk) {
    throw std::runtime_error("bad JWKS fixture");
  }
  return v;
}

void RunVerify(benchmark::State& state, const char* token_name,
               size_t cache_size) {
  const std::string token = Read(std::string("tokens/") + token_name + ".jwt");
  auto v = MakeVerifier(cache_size);
  stytch::VerifyParams p;
  p.now = kIat + 10;
  for (auto _ : state) {
    stytch::Ref<stytch::Session> s;
    bool cached;
    if (v->Verify(token, p, &s, &cached) != stytch::Status::kOk) {
      state.SkipWithError("verify failed");
      break;
    }
    benchmark::DoNotOptimize(s.get());
  }
  state.counters["token_bytes"] = static_cast<double>(token.size());
}

void BM_VerifyUncached(benchmark::State& state) {
  RunVerify(state, "typical", 0);
}
void BM_VerifyUncachedLarge(benchmark::State& state) {
  RunVerify(state, "large", 0);
}
void BM_VerifyCached(benchmark::State& state) {
  RunVerify(state, "typical", 1024);
}

void BM_VerifyMissEvicting(benchmark::State& state) {
  // Two tokens with the same header bytes, as a key's tokens have.
  const std::string tokens[2] = {Read("tokens/custom_claims.jwt"),
                                 Read("tokens/no_roles.jwt")};
  auto v = MakeVerifier(1);
  stytch::VerifyParams p;
  p.now = kIat + 10;
  size_t i = 0;
  for (auto _ : state) {
    stytch::Ref<stytch::Session> s;
    bool cached;
    if (v->Verify(tokens[i++ & 1], p, &s, &cached) != stytch::Status::kOk ||
        cached) {
      state.SkipWithError("verify failed or hit");
      break;
    }
    benchmark::DoNotOptimize(s.get());
  }
  state.counters["token_bytes"] =
      static_cast<double>(tokens[0].size() + tokens[1].size()) / 2;
}

// Tokens with the header and payload of tokens/large.jwt and a claim "n"
// added, each signed with keys/key1.pem: the bench mints its own.
const std::vector<std::string>& DistinctTokens() {
  static const std::vector<std::string> tokens = [] {
    const std::string large = Read("tokens/large.jwt");
    stytch::JwsSegments seg;
    std::string payload;
    if (stytch::SplitJws(large, &seg) != stytch::Status::kOk ||
        !stytch::Base64UrlDecode(seg.payload, &payload)) {
      throw std::runtime_error("large.jwt");
    }
    const std::string pem = Read("keys/key1.pem");
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (key == nullptr) throw std::runtime_error("key1.pem");
    std::vector<std::string> out;
    for (int i = 0; i < 8192; ++i) {
      const std::string input =
          std::string(seg.header) + "." +
          stytch::Base64UrlEncode("{\"n\":" + std::to_string(i) + "," +
                                  payload.substr(1));
      unsigned char sig[512];
      size_t sig_len = sizeof(sig);
      EVP_MD_CTX* ctx = EVP_MD_CTX_new();
      const bool ok =
          EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
          EVP_DigestSign(ctx, sig, &sig_len,
                         reinterpret_cast<const unsigned char*>(input.data()),
                         input.size()) == 1;
      EVP_MD_CTX_free(ctx);
      if (!ok) throw std::runtime_error("sign");
      out.push_back(input + "." +
                    stytch::Base64UrlEncode(std::string_view(
                        reinterpret_cast<const char*>(sig), sig_len)));
    }
    EVP_PKEY_free(key);
    return out;
  }();
  return tokens;
}

void BM_VerifyDistinct(benchmark::State& state) {
  const std::vector<std::string>& tokens = DistinctTokens();
  auto v = MakeVerifier(2048);
  stytch::VerifyParams p;
  p.now = kIat + 10;
  size_t i = 0, hits = 0;
  for (auto _ : state) {
    stytch::Ref<stytch::Session> s;
    bool cached;
    const stytch::Status st = v->Verify(tokens[i], p, &s, &cached);
    if (st != stytch::Status::kOk) {
      state.SkipWithError(stytch::StatusName(st));
      break;
    }
    hits += cached;
    benchmark::DoNotOptimize(s.get());
    i = (i + 1) % tokens.size();
  }
  state.counters["token_bytes"] = static_cast<double>(tokens[0].size());
  state.counters["hits"] = static_cast<double>(hits);
}

// The steps of a first sight, each alone on one of the distinct tokens.
struct Steps {
  std::string token;
  stytch::JwsSegments seg;
  std::string payload, signature;
  unsigned char digest[32];
  std::shared_ptr<const stytch::KeySet> keys;
  const stytch::RsaPublicKey* key = nullptr;
  Steps() : token(DistinctTokens()[0]) {
    if (stytch::SplitJwsDecoding(token, &seg, &payload, &signature) !=
            stytch::Status::kOk ||
        !stytch::Sha256(seg.signing_input, digest) ||
        stytch::ParseJwks(Read("jwks/good.json"), stytch::Logger(), &keys) !=
            stytch::Status::kOk) {
      throw std::runtime_error("steps");
    }
    stytch::JwtHeader h;
    if (stytch::ParseJwtHeader(seg.header, &h) != stytch::Status::kOk ||
        (key = keys->Find(h.kid)) == nullptr) {
      throw std::runtime_error("kid");
    }
  }
};

void BM_StepSplitDecode(benchmark::State& state) {
  Steps st;
  std::string payload, signature;
  for (auto _ : state) {
    stytch::JwsSegments seg;
    if (stytch::SplitJwsDecoding(st.token, &seg, &payload, &signature) !=
        stytch::Status::kOk) {
      state.SkipWithError("split");
      break;
    }
    benchmark::DoNotOptimize(payload.data());
  }
}

void BM_StepSha256SigningInput(benchmark::State& state) {
  Steps st;
  stytch::Sha256Hasher h;
  unsigned char out[32];
  for (auto _ : state) {
    h.Digest(st.seg.signing_input, out);
    benchmark::DoNotOptimize(out);
  }
}

void BM_StepRsa(benchmark::State& state) {
  Steps st;
  const auto* sig = reinterpret_cast<const unsigned char*>(st.signature.data());
  for (auto _ : state) {
    if (!stytch::Rs256VerifyDigest(st.key->verify_context(),
                                   st.key->signature_size(), st.digest, sig,
                                   st.signature.size())) {
      state.SkipWithError("rsa");
      break;
    }
  }
}

// The payload text as SplitJwsDecoding leaves it: with room for the copy
// that the parse keeps.
std::string PayloadText(const Steps& st) {
  std::string text;
  text.reserve(2 * st.payload.size() + 1);
  text = st.payload;
  return text;
}

void BM_StepPayloadJson(benchmark::State& state) {
  Steps st;
  for (auto _ : state) {
    std::unique_ptr<stytch::JwtPayload> payload;
    if (stytch::ParseJwtPayloadJson(PayloadText(st), &payload) !=
        stytch::Status::kOk) {
      state.SkipWithError("payload");
      break;
    }
    benchmark::DoNotOptimize(payload.get());
  }
}

// The payload parsed and made a session, and that session released: the
// session's part is this less StepPayloadJson.
void BM_StepPayloadJsonSession(benchmark::State& state) {
  Steps st;
  for (auto _ : state) {
    std::unique_ptr<stytch::JwtPayload> payload;
    stytch::Ref<stytch::Session> s;
    if (stytch::ParseJwtPayloadJson(PayloadText(st), &payload) !=
            stytch::Status::kOk ||
        stytch::SessionFromJwtPayload(std::move(payload), 0, &s) !=
            stytch::Status::kOk) {
      state.SkipWithError("session");
      break;
    }
    benchmark::DoNotOptimize(s.get());
  }
}

void BM_StepCacheInsertEvicting(benchmark::State& state) {
  const std::vector<std::string>& tokens = DistinctTokens();
  stytch::TokenCache cache(2048);
  size_t i = 0;
  for (auto _ : state) {
    const std::string& t = tokens[i];
    cache.Insert(t, cache.HashOf(t), stytch::TokenCache::Entry{});
    i = (i + 1) % tokens.size();
  }
}

void BM_RawEvpVerify(benchmark::State& state) {
  const std::string token = Read("tokens/typical.jwt");
  const std::string pem = Read("keys/key1.pub.pem");
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  stytch::JwsSegments seg;
  std::string sig;
  if (key == nullptr || stytch::SplitJws(token, &seg) != stytch::Status::kOk ||
      !stytch::Base64UrlDecode(seg.signature, &sig)) {
    state.SkipWithError("fixture");
    return;
  }
  const auto* data =
      reinterpret_cast<const unsigned char*>(seg.signing_input.data());
  const auto* s = reinterpret_cast<const unsigned char*>(sig.data());
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const int ok =
        EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
        EVP_DigestVerify(ctx, s, sig.size(), data, seg.signing_input.size()) ==
            1;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
      state.SkipWithError("verify failed");
      break;
    }
  }
  EVP_PKEY_free(key);
}

// What `openssl speed rsa2048` measures as "verify": EVP_PKEY_verify of a
// ready digest with a context made once; no hashing, no setup.
void BM_RsaVerifyFloor(benchmark::State& state) {
  const std::string token = Read("tokens/typical.jwt");
  const std::string pem = Read("keys/key1.pub.pem");
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  stytch::JwsSegments seg;
  std::string sig;
  unsigned char digest[32];
  EVP_PKEY_CTX* ctx =
      key ? EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr) : nullptr;
  if (ctx == nullptr || stytch::SplitJws(token, &seg) != stytch::Status::kOk ||
      !stytch::Base64UrlDecode(seg.signature, &sig) ||
      !stytch::Sha256(seg.signing_input, digest) ||
      EVP_PKEY_verify_init(ctx) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0 ||
      EVP_PKEY_CTX_set_signature_md(ctx, stytch::Sha256Md()) <= 0) {
    state.SkipWithError("fixture");
    return;
  }
  const auto* s = reinterpret_cast<const unsigned char*>(sig.data());
  for (auto _ : state) {
    if (EVP_PKEY_verify(ctx, s, sig.size(), digest, sizeof(digest)) != 1) {
      state.SkipWithError("verify failed");
      break;
    }
  }
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(key);
}

void BM_Sha256Token(benchmark::State& state) {
  const std::string token = Read("tokens/typical.jwt");
  unsigned char out[32];
  for (auto _ : state) {
    stytch::Sha256(token, out);
    benchmark::DoNotOptimize(out);
  }
}

void BM_CacheHashOf(benchmark::State& state) {
  const std::string token = Read("tokens/typical.jwt");
  stytch::TokenCache cache(4096);
  for (auto _ : state) {
    benchmark::DoNotOptimize(cache.HashOf(token));
  }
}

BENCHMARK(BM_RsaVerifyFloor)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RawEvpVerify)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VerifyUncached)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VerifyUncachedLarge)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VerifyCached)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VerifyMissEvicting)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VerifyDistinct)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_StepSplitDecode)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_StepSha256SigningInput)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_StepRsa)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_StepPayloadJson)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_StepPayloadJsonSession)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_StepCacheInsertEvicting)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Sha256Token)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CacheHashOf)->Unit(benchmark::kMicrosecond);

}  // namespace
