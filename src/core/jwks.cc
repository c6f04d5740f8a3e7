// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "jwks.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include <set>
#include <string>
#include <vector>

#include "base64url.h"
#include "json.h"
#include "jwt.h"
#include "stytch_core.h"
#include "verify.h"

namespace stytch {
namespace {

constexpr size_t kMaxKidLengthForLog = 64;

struct BnDeleter {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnDeleter>;

BnPtr ToBn(std::string_view bytes) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                         static_cast<int>(bytes.size()), nullptr));
}

// Why a JWK is refused, or nullptr when it is usable.
const char* CheckJwkMembers(const json_t* jwk) {
  const auto kty = JsonGetString(jwk, "kty");
  if (!kty || *kty != "RSA") return "kty is not RSA";

  if (const json_t* use = json_object_get(jwk, "use")) {
    if (!json_is_string(use) || JsonStringView(use) != "sig") {
      return "use is not sig";
    }
  }
  if (const json_t* alg = json_object_get(jwk, "alg")) {
    if (!json_is_string(alg) || JsonStringView(alg) != "RS256") {
      return "alg is not RS256";
    }
  }
  if (const json_t* ops = json_object_get(jwk, "key_ops")) {
    if (!json_is_array(ops)) return "key_ops is not an array";
    bool verify = false;
    size_t i;
    const json_t* op;
    json_array_foreach(ops, i, op) {
      if (json_is_string(op) && JsonStringView(op) == "verify") verify = true;
    }
    if (!verify) return "key_ops lacks verify";
  }
  return nullptr;
}

void Refuse(const Logger& log, std::string_view kid, std::string_view why) {
  std::string msg = "JWKS key \"";
  // The kid is the document's text: control bytes could forge log lines.
  for (unsigned char c : kid.substr(0, kMaxKidLengthForLog)) {
    msg += c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c);
  }
  msg += "\" refused: ";
  msg.append(why);
  log(STYTCH_LOG_WARN, msg);
}

}  // namespace

EVP_PKEY* RsaPublicKeyFromParts(std::string_view n, std::string_view e) {
  // OpenSSL builds a key from n = 0 without complaint.
  if (n.empty() || e.empty()) return nullptr;
  BnPtr bn_n = ToBn(n);
  BnPtr bn_e = ToBn(e);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM* params = nullptr;
  EVP_PKEY_CTX* ctx = nullptr;
  EVP_PKEY* pkey = nullptr;

  bool ok =
      bn_n && bn_e && bld &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n.get()) &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e.get()) &&
      (params = OSSL_PARAM_BLD_to_param(bld)) != nullptr &&
      (ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr)) != nullptr &&
      EVP_PKEY_fromdata_init(ctx) == 1 &&
      EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
  if (!ok) {
    EVP_PKEY_free(pkey);
    pkey = nullptr;
    ClearOpenSslErrors();
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  return pkey;
}

Status ParseJwks(std::string_view json, const Logger& log,
                 std::shared_ptr<const KeySet>* out) {
  if (json.size() > STYTCH_MAX_JWKS_SIZE) {
    log(STYTCH_LOG_ERR, "JWKS document too large");
    return Status::kJwksInvalid;
  }
  JsonError jerr;
  JsonPtr root = JsonParse(json, STYTCH_MAX_JWKS_SIZE, &jerr);
  const json_t* keys = root ? JsonGetArray(root.get(), "keys") : nullptr;
  if (!json_is_object(root.get()) || keys == nullptr) {
    log(STYTCH_LOG_ERR, "JWKS document is not a JSON key set");
    return Status::kJwksInvalid;
  }

  // First pass: kids seen more than once are refused, whichever of the
  // keys would have been usable.
  std::set<std::string_view> seen, duplicated;
  size_t i;
  const json_t* jwk;
  json_array_foreach(keys, i, jwk) {
    if (const auto kid = JsonGetString(jwk, "kid")) {
      if (!seen.insert(*kid).second) duplicated.insert(*kid);
    }
  }

  auto set = std::make_shared<KeySet>();
  std::string n, e;
  json_array_foreach(keys, i, jwk) {
    if (i >= kMaxJwksKeys) {
      log(STYTCH_LOG_WARN, "JWKS has too many keys, rest ignored");
      break;
    }
    if (!json_is_object(jwk)) {
      Refuse(log, "", "not a JSON object");
      continue;
    }
    const auto kid = JsonGetString(jwk, "kid");
    if (!kid || kid->empty() || kid->size() > kMaxKidLength) {
      Refuse(log, "", "kid missing, empty or too long");
      continue;
    }
    if (duplicated.count(*kid)) {
      Refuse(log, *kid, "kid appears more than once in the set");
      continue;
    }
    if (const char* why = CheckJwkMembers(jwk)) {
      Refuse(log, *kid, why);
      continue;
    }
    const auto n64 = JsonGetString(jwk, "n");
    const auto e64 = JsonGetString(jwk, "e");
    if (!n64 || !e64 || !Base64UrlDecode(*n64, &n) ||
        !Base64UrlDecode(*e64, &e) || n.empty() || e.empty()) {
      Refuse(log, *kid, "n or e missing or not base64url");
      continue;
    }
    // Leading zero octets are not minimal (RFC 7518 6.3.1.1) but harmless;
    // the bit counts below are what matter.
    BnPtr bn_n = ToBn(n), bn_e = ToBn(e);
    if (!bn_n || !bn_e) throw std::bad_alloc();
    const int bits = BN_num_bits(bn_n.get());
    if (bits < kMinRsaBits || bits > kMaxRsaBits) {
      Refuse(log, *kid,
             "modulus size of " + std::to_string(bits) + " bits is outside " +
                 std::to_string(kMinRsaBits) + ".." +
                 std::to_string(kMaxRsaBits));
      continue;
    }
    if (!BN_is_odd(bn_n.get())) {
      Refuse(log, *kid, "modulus is even");
      continue;
    }
    // A large e is only a way to make verification slow; an even one or 1
    // is no RSA key.
    if (BN_num_bits(bn_e.get()) > kMaxRsaExponentBits ||
        !BN_is_odd(bn_e.get()) || BN_is_one(bn_e.get())) {
      Refuse(log, *kid, "exponent is not an odd number in 3..2^32-1");
      continue;
    }
    EVP_PKEY* pkey = RsaPublicKeyFromParts(n, e);
    if (pkey == nullptr) {
      Refuse(log, *kid, "OpenSSL refused the key");
      continue;
    }
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> owner(pkey,
                                                              EVP_PKEY_free);
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        NewRs256Context(pkey), EVP_PKEY_CTX_free);
    if (!ctx) {
      Refuse(log, *kid, "OpenSSL cannot verify with the key");
      continue;
    }
    auto key = std::make_unique<RsaPublicKey>(std::string(*kid), pkey,
                                              ctx.get(), bits);
    owner.release();
    ctx.release();
    set->keys_.emplace(key->kid(), std::move(key));
  }

  if (set->size() == 0) {
    log(STYTCH_LOG_ERR, "JWKS holds no usable key");
    return Status::kJwksNoUsableKey;
  }
  *out = std::move(set);
  return Status::kOk;
}

}  // namespace stytch
