// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// JWKS documents: whatever Stytch (or whoever answers in its place) sends.

#include <cstdint>
#include <memory>
#include <string_view>

#include "jwks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::shared_ptr<const stytch::KeySet> set;
  const stytch::Status st = stytch::ParseJwks(
      std::string_view(reinterpret_cast<const char*>(data), size),
      stytch::Logger(), &set);
  if ((st == stytch::Status::kOk) != (set != nullptr)) __builtin_trap();
  if (set && set->size() == 0) __builtin_trap();
  return 0;
}
