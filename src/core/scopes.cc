// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "scopes.h"

namespace stytch {
namespace {

struct Scope {
  std::string_view action;
  std::string_view resource;
};

Scope Split(std::string_view scope) {
  const size_t colon = scope.find(':');
  if (colon == std::string_view::npos) return {scope, "-"};
  std::string_view rest = scope.substr(colon + 1);
  return {scope.substr(0, colon), rest.substr(0, rest.find(':'))};
}

// Calls fn(piece) for each piece of `list` between single spaces; empty
// pieces too when `keep_empty`.  Stops early when fn returns false.
template <typename Fn>
bool ForEachScope(std::string_view list, bool keep_empty, Fn&& fn) {
  for (;;) {
    const size_t space = list.find(' ');
    const std::string_view piece = list.substr(0, space);
    if ((keep_empty || !piece.empty()) && !fn(piece)) return false;
    if (space == std::string_view::npos) return true;
    list.remove_prefix(space + 1);
  }
}

bool Granted(std::string_view has, const Scope& need) {
  // A handful of scopes each side: a scan beats building the SDK's map.
  return !ForEachScope(has, true, [&](std::string_view piece) {
    const Scope got = Split(piece);
    const bool meets = got.action == need.action &&
                       (got.resource == "*" || got.resource == need.resource);
    return !meets;
  });
}

}  // namespace

bool ScopesInclude(std::string_view has, std::string_view required) {
  return ForEachScope(required, false, [&](std::string_view need) {
    return !ForEachScope(has, false,
                         [&](std::string_view got) { return got != need; });
  });
}

bool ScopesGrant(std::string_view has, std::string_view required) {
  return ForEachScope(required, false, [&](std::string_view piece) {
    return Granted(has, Split(piece));
  });
}

Status CheckScopes(const Session& session, std::string_view required) {
  bool met;
  switch (session.kind()) {
    case STYTCH_KIND_M2M:
      met = ScopesGrant(session.scopes(), required);
      break;
    case STYTCH_KIND_OAUTH:
      met = ScopesInclude(session.scopes(), required);
      break;
    default:
      met =
          ForEachScope(required, false, [](std::string_view) { return false; });
      break;
  }
  return met ? Status::kOk : Status::kScopeMissing;
}

}  // namespace stytch
