// Counts the program's allocations through operator new, so that a test
// can say that a path allocates nothing.  Replaces the global operator
// new and delete for the whole test binary; they still use malloc.

#include <cstdlib>
#include <new>

#include "test_util.h"

namespace {
size_t g_allocations = 0;
}

size_t stytch_test::Allocations() { return g_allocations; }

void* operator new(size_t n) {
  ++g_allocations;
  if (void* p = malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  ++g_allocations;
  return malloc(n == 0 ? 1 : n);
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  return operator new(n, std::nothrow);
}
void operator delete(void* p) noexcept { free(p); }
void operator delete[](void* p) noexcept { free(p); }
void operator delete(void* p, size_t) noexcept { free(p); }
void operator delete[](void* p, size_t) noexcept { free(p); }
