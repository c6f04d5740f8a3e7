// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "token_cache.h"

#include <cstring>

namespace stytch {

TokenCache::TokenCache(size_t capacity)
    : ways_(capacity < kWays ? capacity : kWays),
      sets_(ways_ == 0 ? 0 : (capacity + ways_ - 1) / ways_) {
  capacity_ = ways_ * sets_;
  if (capacity_ != 0) {
    way_ = std::make_unique<Way[]>(capacity_);  // value-initialised: free
    slot_ = std::make_unique<Slot[]>(capacity_);
  }
}

uint64_t TokenCache::Tag(const TokenDigest& key) {
  uint64_t tag;
  memcpy(&tag, key.data(), sizeof(tag));
  return tag == 0 ? 1 : tag;
}

size_t TokenCache::SetOf(const TokenDigest& key) const {
  // Bytes independent of the tag's: the key is already a uniform hash.
  uint64_t h;
  memcpy(&h, key.data() + 8, sizeof(h));
  return static_cast<size_t>(h % sets_) * ways_;
}

size_t TokenCache::Lookup(const TokenDigest& key, uint64_t tag) const {
  const size_t first = SetOf(key);
  for (size_t i = first; i < first + ways_; ++i) {
    if (way_[i].tag == tag && slot_[i].key == key) return i;
  }
  return npos;
}

const TokenCache::Entry* TokenCache::Find(const TokenDigest& key) {
  if (capacity_ == 0) return nullptr;
  const size_t i = Lookup(key, Tag(key));
  if (i == npos) return nullptr;
  way_[i].used = ++clock_;
  return &slot_[i].entry;
}

void TokenCache::Insert(const TokenDigest& key, Entry entry) {
  if (capacity_ == 0) return;
  const uint64_t tag = Tag(key);
  size_t i = Lookup(key, tag);
  if (i == npos) {
    // A free way, or else the least recently used one.
    const size_t first = SetOf(key);
    i = first;
    for (size_t j = first; j < first + ways_; ++j) {
      if (way_[j].tag == 0) {
        i = j;
        break;
      }
      if (way_[j].used < way_[i].used) i = j;
    }
    if (way_[i].tag == 0) ++size_;
    way_[i].tag = tag;
    slot_[i].key = key;
  }
  way_[i].used = ++clock_;
  // Assigning drops the evicted session's reference, if any.
  slot_[i].entry = std::move(entry);
}

void TokenCache::Erase(const TokenDigest& key) {
  if (capacity_ == 0) return;
  const size_t i = Lookup(key, Tag(key));
  if (i == npos) return;
  way_[i] = Way{};
  slot_[i].entry = Entry{};
  --size_;
}

void TokenCache::Clear() {
  for (size_t i = 0; i < capacity_; ++i) {
    way_[i] = Way{};
    slot_[i].entry = Entry{};
  }
  size_ = 0;
}

}  // namespace stytch
