// A bounded LRU cache of verified tokens.

#ifndef STYTCH_CORE_TOKEN_CACHE_H_
#define STYTCH_CORE_TOKEN_CACHE_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <list>
#include <string_view>
#include <unordered_map>

#include "claims.h"
#include "ref.h"
#include "session.h"

namespace stytch {

// SHA-256 of the whole token.  Never a weaker hash: two tokens with the
// same key would share a verdict, so a collision would be a forgery.
using TokenDigest = std::array<unsigned char, 32>;

class TokenCache {
 public:
  struct Entry {
    Ref<Session> session;
    TimeClaims times;
  };

  explicit TokenCache(size_t capacity) : capacity_(capacity) {}

  size_t capacity() const { return capacity_; }
  size_t size() const { return index_.size(); }

  // The entry, now the most recently used; nullptr on a miss.
  const Entry* Find(const TokenDigest& key);
  // Adds or replaces; evicts the least recently used beyond capacity.
  void Insert(const TokenDigest& key, Entry entry);
  void Erase(const TokenDigest& key);
  void Clear();

 private:
  struct DigestHash {
    size_t operator()(const TokenDigest& d) const {
      // The key is already a uniform hash; any 8 of its bytes will do.
      size_t h;
      memcpy(&h, d.data(), sizeof(h));
      return h;
    }
  };
  using Lru = std::list<std::pair<TokenDigest, Entry>>;

  size_t capacity_;
  Lru lru_;  // front: most recently used
  std::unordered_map<TokenDigest, Lru::iterator, DigestHash> index_;
};

}  // namespace stytch

#endif  // STYTCH_CORE_TOKEN_CACHE_H_
