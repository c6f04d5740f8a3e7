'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Every Stytch API route the emulator serves, from the API modules, and
// how a request finds its route and project.

const { ApiError } = require('./errors.js');
const api = require('./api.js');
const signin = require('./signin.js');

const m2m = require('./m2m.js');
const sdkFrontend = require('./sdk-frontend.js');
const connectedApps = require('./connected-apps.js');

const MODULES = [api, signin, m2m, sdkFrontend, connectedApps];

// path -> routes (one a method); patterns in order, exact paths first.
const EXACT = new Map();
const PATTERNS = [];
for (const m of MODULES) {
  for (const r of m.ROUTES) {
    if (r.path) EXACT.set(r.path, [...(EXACT.get(r.path) || []), r]);
    else PATTERNS.push(r);
  }
}

// -> {route, params} or null.  The route of the request's method, or of
// the path's first method (which then refuses the method).
function classify(pathname, method) {
  let list = EXACT.get(pathname);
  let params = [];
  if (!list) {
    list = [];
    for (const r of PATTERNS) {
      const m = r.re.exec(pathname);
      if (!m) continue;
      if (!list.length) params = m.slice(1).map(decodeURIComponent);
      else if (r.re.source !== list[0].re.source) continue;
      list.push(r);
    }
    if (!list.length) return null;
  }
  return { route: list.find((r) => r.method === method) || list[0], params };
}

// The project a request is for, or the API's refusal.  A project is one
// vertical: a consumer project's id on a B2B endpoint is
// invalid_b2b_endpoint and the reverse invalid_consumer_endpoint, for the
// JWKS endpoints too (Stytch's SDKs had to learn to call the JWKS of their
// vertical: stytch-node #197, stytch-python #153, stytch-java #5).
function resolveProject(st, route, req, params) {
  let p;
  if (route.resolve) {
    p = route.resolve(st, req, params);
  } else if (typeof route.auth === 'function') {
    p = route.auth(st, req);
  } else if (route.auth === 'path') {
    p = st.projects.get(params[0]);
    if (!p) throw new ApiError('invalid_project_id');
  } else {
    p = api.projectByAuth(st, req);
  }
  if (route.vertical && p.vertical !== route.vertical) {
    throw new ApiError(route.vertical === 'b2b' ? 'invalid_b2b_endpoint' : 'invalid_consumer_endpoint');
  }
  return p;
}

module.exports = { classify, resolveProject };
