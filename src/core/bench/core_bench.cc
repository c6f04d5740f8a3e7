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

#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "base64url.h"
#include "jwks.h"
#include "jwt.h"
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

BENCHMARK(BM_RsaVerifyFloor)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RawEvpVerify)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VerifyUncached)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VerifyUncachedLarge)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VerifyCached)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VerifyMissEvicting)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Sha256Token)->Unit(benchmark::kMicrosecond);

}  // namespace
