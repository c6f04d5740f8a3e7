// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The log callback the glue hands in; the core never writes anywhere else.

#ifndef STYTCH_CORE_LOG_H_
#define STYTCH_CORE_LOG_H_

#include <string_view>

#include "stytch_core.h"

namespace stytch {

class Logger {
 public:
  Logger() = default;
  Logger(stytch_log_pt fn, void* ctx) : fn_(fn), ctx_(ctx) {}

  void operator()(int level, std::string_view msg) const noexcept {
    if (fn_ != nullptr) fn_(ctx_, level, msg.data(), msg.size());
  }

 private:
  stytch_log_pt fn_ = nullptr;
  void* ctx_ = nullptr;
};

}  // namespace stytch

#endif  // STYTCH_CORE_LOG_H_
