// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// A bounded cache of verified tokens.

#ifndef STYTCH_CORE_TOKEN_CACHE_H_
#define STYTCH_CORE_TOKEN_CACHE_H_

#include <array>
#include <cstdint>
#include <memory>

#include "claims.h"
#include "ref.h"
#include "session.h"

namespace stytch {

// SHA-256 of the whole token.  Never a weaker hash: two tokens with the
// same key would share a verdict, so a collision would be a forgery.
using TokenDigest = std::array<unsigned char, 32>;

// Set-associative, like a CPU cache: a key can live only in the set its
// digest picks, and each set of up to kWays entries evicts its least
// recently used.  A lookup reads one set's tags (one cache line) and, on a
// match, one entry; nothing is allocated after construction.  With more
// live tokens than entries nearly every request misses and evicts, and a
// list-and-hash-map LRU then costs a few cache misses and allocations more
// than the RSA verification it saves is worth.
class TokenCache {
 public:
  struct Entry {
    Ref<Session> session;
    TimeClaims times;
  };
  static constexpr size_t kWays = 8;

  // Holds `capacity` entries, rounded up to a multiple of kWays when larger
  // than kWays.
  explicit TokenCache(size_t capacity);

  size_t capacity() const { return capacity_; }
  size_t size() const { return size_; }

  // The entry, now the most recently used of its set; nullptr on a miss.
  const Entry* Find(const TokenDigest& key);
  // Adds or replaces; may evict the least recently used entry of the set.
  void Insert(const TokenDigest& key, Entry entry);
  void Erase(const TokenDigest& key);
  void Clear();

 private:
  // A set's tags and ages, 8 + 8 bytes per way.  tag 0 marks a free way:
  // a digest whose first 8 bytes are 0 is stored with tag 1 instead.
  struct Way {
    uint64_t tag;
    uint64_t used;
  };
  struct Slot {
    TokenDigest key;
    Entry entry;
  };

  static uint64_t Tag(const TokenDigest& key);
  size_t SetOf(const TokenDigest& key) const;
  // Index of key's slot, or npos.
  size_t Lookup(const TokenDigest& key, uint64_t tag) const;

  static constexpr size_t npos = ~size_t{0};

  size_t capacity_;
  size_t ways_;
  size_t sets_;
  size_t size_ = 0;
  uint64_t clock_ = 0;
  std::unique_ptr<Way[]> way_;
  std::unique_ptr<Slot[]> slot_;
};

}  // namespace stytch

#endif  // STYTCH_CORE_TOKEN_CACHE_H_
