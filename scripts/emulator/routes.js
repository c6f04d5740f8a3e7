'use strict';
// Every Stytch API route the emulator serves, from the API modules, and
// how a request finds its route and project.

const { ApiError } = require('./errors.js');
const api = require('./api.js');
const signin = require('./signin.js');

const MODULES = [api, signin];

const EXACT = new Map();
const PATTERNS = [];
for (const m of MODULES) {
  for (const r of m.ROUTES) {
    if (r.path) EXACT.set(r.path, r);
    else PATTERNS.push(r);
  }
}

// -> {route, params} or null
function classify(pathname) {
  const route = EXACT.get(pathname);
  if (route) return { route, params: [] };
  for (const r of PATTERNS) {
    const m = r.re.exec(pathname);
    if (m) return { route: r, params: m.slice(1).map(decodeURIComponent) };
  }
  return null;
}

// The project a request is for, or the API's refusal.
function resolveProject(st, route, req, params) {
  if (route.auth === 'path') {
    const p = st.projects.get(params[0]);
    if (!p) throw new ApiError('invalid_project_id');
    return p;
  }
  return api.projectByAuth(st, req);
}

module.exports = { classify, resolveProject };
