// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The RFC 3339 timestamps of Stytch sessions ("2024-10-24T02:54:43Z").

#ifndef STYTCH_CORE_RFC3339_H_
#define STYTCH_CORE_RFC3339_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace stytch {

// Strict: YYYY-MM-DDTHH:MM:SS, optional fraction, then Z or +HH:MM/-HH:MM.
// Real calendar dates only (no 30 February); a leap second (:60) counts as
// the next second.  Fractions are dropped, not rounded.
bool ParseRfc3339(std::string_view text, int64_t* epoch);

// "2024-10-24T02:54:43Z"; empty for a time gmtime cannot represent.
std::string FormatRfc3339(int64_t epoch);

}  // namespace stytch

#endif  // STYTCH_CORE_RFC3339_H_
