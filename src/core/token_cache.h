// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// A bounded cache of verified tokens.

#ifndef STYTCH_CORE_TOKEN_CACHE_H_
#define STYTCH_CORE_TOKEN_CACHE_H_

#include <cstdint>
#include <memory>
#include <string_view>

#include "claims.h"
#include "ref.h"
#include "session.h"
#include "siphash.h"

namespace stytch {

// Set-associative, like a CPU cache: a token can live only in the set its
// hash picks, and each set of up to kWays entries evicts its least recently
// used.  A lookup reads one set's tags and, on a tag match, compares the
// token with the bytes the entry stores: the hash only says where to look,
// so that no two tokens can share an entry, however their hashes collide.
// Nothing is allocated on a hit; an insert allocates only when the slot it
// takes has no buffer long enough for the token (see Insert).  With more
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
  // How many of a token's last bytes pick its set, with its length: a
  // token in the cache has been verified, so these are the end of its
  // RS256 signature, 192 bits that no client chooses.
  static constexpr size_t kHashedTail = 32;
  // Buffers are allocated in multiples of this, so that a token can take
  // the slot of an evicted one of about the same size without allocating.
  static constexpr size_t kBufferUnit = 256;

  // Where a token lives; computed once per request by HashOf() and given
  // to Find and Insert.
  using Hash = uint64_t;

  // Holds `capacity` entries, rounded up to a multiple of kWays when larger
  // than kWays.  The hash is keyed with 16 bytes from OpenSSL's RAND_bytes
  // (std::runtime_error when it fails), or with `key`.
  explicit TokenCache(size_t capacity);
  TokenCache(size_t capacity, const SipKey& key);

  size_t capacity() const { return capacity_; }
  size_t size() const { return size_; }
  // Bytes allocated for the entries' copies of their tokens.
  size_t token_bytes() const { return token_bytes_; }

  // SipHash-2-4 of the token's length and its last kHashedTail bytes.
  Hash HashOf(std::string_view token) const;

  // The entry of exactly `token`, now the most recently used of its set;
  // nullptr on a miss.  `hash` is HashOf(token).
  const Entry* Find(std::string_view token, Hash hash);
  // Adds or replaces; may evict the least recently used entry of the set.
  // The token's bytes are copied into the slot's buffer, which is
  // allocated (in kBufferUnit multiples) only when shorter than the token.
  // A token longer than STYTCH_MAX_TOKEN_SIZE is not kept.
  void Insert(std::string_view token, Hash hash, Entry entry);
  void Erase(std::string_view token, Hash hash);
  // Empties the cache and frees the token buffers.
  void Clear();

 private:
  // A set's tags and ages, 8 + 8 bytes per way.  tag 0 marks a free way: a
  // hash of 0 is stored with tag 1 instead.
  struct Way {
    uint64_t tag;
    uint64_t used;
  };
  struct Slot {
    std::unique_ptr<char[]> bytes;
    uint32_t len = 0;
    uint32_t cap = 0;
    Entry entry;
  };

  static uint64_t Tag(Hash hash) { return hash == 0 ? 1 : hash; }
  size_t SetOf(Hash hash) const;
  // Index of the token's slot, or npos.
  size_t Lookup(std::string_view token, Hash hash) const;

  static constexpr size_t npos = ~size_t{0};

  SipKey key_;
  size_t capacity_;
  size_t ways_;
  size_t sets_;
  size_t size_ = 0;
  size_t token_bytes_ = 0;
  uint64_t clock_ = 0;
  std::unique_ptr<Way[]> way_;
  std::unique_ptr<Slot[]> slot_;
};

}  // namespace stytch

#endif  // STYTCH_CORE_TOKEN_CACHE_H_
