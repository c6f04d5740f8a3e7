// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// An intrusive reference-counted pointer.
//
// Sessions are shared by the verifier's cache and by requests, and cross the
// C facade as bare pointers with retain/release; an intrusive count lets the
// facade hand out the object itself instead of a separately allocated
// handle.  The count is not atomic: each NGINX worker is single-threaded and
// every object stays in the worker that made it.

#ifndef STYTCH_CORE_REF_H_
#define STYTCH_CORE_REF_H_

#include <cstdint>
#include <utility>

namespace stytch {

class RefCounted {
 public:
  void Retain() const noexcept { ++refs_; }
  void Release() const noexcept {
    if (--refs_ == 0) delete this;
  }
  uint32_t RefCountForTesting() const noexcept { return refs_; }

 protected:
  RefCounted() = default;
  virtual ~RefCounted() = default;
  RefCounted(const RefCounted&) = delete;
  RefCounted& operator=(const RefCounted&) = delete;

 private:
  mutable uint32_t refs_ = 0;
};

template <typename T>
class Ref {
 public:
  Ref() = default;
  explicit Ref(T* p) : p_(p) {
    if (p_) p_->Retain();
  }
  Ref(const Ref& o) : Ref(o.p_) {}
  Ref(Ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  Ref& operator=(Ref o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~Ref() {
    if (p_) p_->Release();
  }

  T* get() const { return p_; }
  T* operator->() const { return p_; }
  T& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }

  // Hands the reference to a C caller, who releases it later.
  T* Leak() { return std::exchange(p_, nullptr); }

 private:
  T* p_ = nullptr;
};

template <typename T, typename... Args>
Ref<T> MakeRef(Args&&... args) {
  return Ref<T>(new T(std::forward<Args>(args)...));
}

}  // namespace stytch

#endif  // STYTCH_CORE_REF_H_
