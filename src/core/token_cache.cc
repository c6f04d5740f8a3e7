// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "token_cache.h"

#include <openssl/rand.h>

#include <cstring>
#include <new>
#include <stdexcept>

#include "stytch_core.h"
#include "verify.h"

namespace stytch {
namespace {

SipKey RandomKey() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    ClearOpenSslErrors();
    throw std::runtime_error("RAND_bytes");
  }
  return SipKeyFromBytes(bytes);
}

}  // namespace

TokenCache::TokenCache(size_t capacity) : TokenCache(capacity, RandomKey()) {}

TokenCache::TokenCache(size_t capacity, const SipKey& key)
    : key_(key),
      ways_(capacity < kWays ? capacity : kWays),
      sets_(ways_ == 0 ? 0 : (capacity + ways_ - 1) / ways_) {
  capacity_ = ways_ * sets_;
  if (capacity_ != 0) {
    way_ = std::make_unique<Way[]>(capacity_);  // value-initialised: free
    slot_ = std::make_unique<Slot[]>(capacity_);
  }
}

TokenCache::Hash TokenCache::HashOf(std::string_view token) const {
  // The length first, so that tokens with the same tail but another length
  // land apart; then the tail.
  unsigned char buf[8 + kHashedTail];
  const uint64_t len = token.size();
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<unsigned char>(len >> (8 * i));
  const size_t tail = token.size() < kHashedTail ? token.size() : kHashedTail;
  memcpy(buf + 8, token.data() + token.size() - tail, tail);
  return SipHash24(key_, std::string_view(reinterpret_cast<char*>(buf), 8 + tail));
}

size_t TokenCache::SetOf(Hash hash) const {
  // The high half of hash * sets: uniform over the sets, and no division.
  return static_cast<size_t>((static_cast<unsigned __int128>(hash) * sets_) >>
                             64) *
         ways_;
}

size_t TokenCache::Lookup(std::string_view token, Hash hash) const {
  const uint64_t tag = Tag(hash);
  const size_t first = SetOf(hash);
  for (size_t i = first; i < first + ways_; ++i) {
    if (way_[i].tag == tag && slot_[i].len == token.size() &&
        memcmp(slot_[i].bytes.get(), token.data(), token.size()) == 0) {
      return i;
    }
  }
  return npos;
}

const TokenCache::Entry* TokenCache::Find(std::string_view token, Hash hash) {
  if (capacity_ == 0) return nullptr;
  const size_t i = Lookup(token, hash);
  if (i == npos) return nullptr;
  way_[i].used = ++clock_;
  return &slot_[i].entry;
}

void TokenCache::Insert(std::string_view token, Hash hash, Entry entry) {
  if (capacity_ == 0 || token.empty() ||
      token.size() > STYTCH_MAX_TOKEN_SIZE) {
    return;
  }
  size_t i = Lookup(token, hash);
  if (i == npos) {
    // A free way, or else the least recently used one.
    const size_t first = SetOf(hash);
    i = first;
    for (size_t j = first; j < first + ways_; ++j) {
      if (way_[j].tag == 0) {
        i = j;
        break;
      }
      if (way_[j].used < way_[i].used) i = j;
    }
    Slot& slot = slot_[i];
    if (slot.cap < token.size()) {
      const size_t cap = (token.size() + kBufferUnit - 1) / kBufferUnit *
                         kBufferUnit;
      // Allocated before anything changes: without memory the token is
      // not kept, and the set stays as it was.
      std::unique_ptr<char[]> bytes(new (std::nothrow) char[cap]);
      if (!bytes) return;
      token_bytes_ = token_bytes_ - slot.cap + cap;
      slot.bytes = std::move(bytes);
      slot.cap = static_cast<uint32_t>(cap);
    }
    if (way_[i].tag == 0) ++size_;
    way_[i].tag = Tag(hash);
    memcpy(slot.bytes.get(), token.data(), token.size());
    slot.len = static_cast<uint32_t>(token.size());
  }
  way_[i].used = ++clock_;
  // Assigning drops the evicted session's reference, if any.
  slot_[i].entry = std::move(entry);
}

void TokenCache::Erase(std::string_view token, Hash hash) {
  if (capacity_ == 0) return;
  const size_t i = Lookup(token, hash);
  if (i == npos) return;
  way_[i] = Way{};
  slot_[i].len = 0;  // the buffer stays, for the next token of the set
  slot_[i].entry = Entry{};
  --size_;
}

void TokenCache::Clear() {
  for (size_t i = 0; i < capacity_; ++i) {
    way_[i] = Way{};
    slot_[i] = Slot{};
  }
  size_ = 0;
  token_bytes_ = 0;
}

}  // namespace stytch
