'use strict';
// The oracle: what each class of token must be answered, as README.md's
// "How requests are decided" says, given what happened around the request
// (the timeline: Stytch's API down, sessions revoked, keys rotated, faults
// that may cut connections).  Pure: no I/O, no clock of its own; the
// soak's own tests (soak/test/) drive it with made-up timelines.
//
// A request is judged over its whole span [t0, t1]: an answer is right if
// some moment of that span allows it, since the module may have decided at
// any point in it (a fault set or cleared meanwhile, a revocation under
// way).  Times are milliseconds on one monotonic clock.

// Each class: what its tokens are, and the statuses allowed at time t.
// tok is the request's token record (its session, for the classes bound to
// one), tl the timeline.  The sets are small on purpose: a valid JWT has
// exactly one right answer whatever Stytch does.
const CLASSES = {
  jwt_valid: {
    what: 'session JWT within its lifetime, signed by a served key',
    expect: () => [200],
  },
  jwt_newkey: {
    // Minted just after a rotation: until stytch_jwks_cooldown has passed
    // since the rotation, nginx may hold a key set fetched less than that
    // ago, and then calls the unknown kid forged (401, documented).
    what: 'session JWT signed by a key rotated in moments ago',
    expect: (tl, t, tok) => {
      const out = [200];
      if (t < tok.rotatedAt + tl.cfg.cooldownMs + tl.cfg.marginMs) out.push(401);
      if (tl.api(t) !== 'up') out.push(503);   // keys not fetched yet: the API decides
      return out;
    },
  },
  expired_live: { what: 'expired JWT of a live session (the API decides)', expect: sessionBound },
  expired_revoked: { what: 'expired JWT of a revoked session', expect: sessionBound },
  opaque_live: { what: 'opaque session token of a live session', expect: sessionBound },
  opaque_revoked: { what: 'opaque session token of a revoked session', expect: sessionBound },
  forged_sig: {
    what: 'the served kid, signed by another key',
    expect: () => [401],
  },
  forged_tamper: {
    what: 'a valid JWT with its payload changed',
    expect: () => [401],
  },
  forged_kid: {
    // Refused locally (401) while a key set is at hand; when the keys
    // cannot be fetched, and for a few unknown kids per key set within
    // stytch_jwks_cooldown (a key Stytch may have rotated in since), it
    // goes to the API, which may be down (503).
    what: 'a kid no key set has',
    expect: unlessDown([401]),
  },
  garbage: {
    what: 'not a JWT in the JWT cookie (three segments of junk, alg none, HS256)',
    expect: () => [401],
  },
  wrong_project: {
    what: "another project's session JWT (another key set)",
    expect: unlessDown([401]),
  },
  wrong_aud: {
    what: 'signed by the project key, audience another project (the API decides)',
    expect: unlessDown([401]),
  },
  m2m_scope: { what: 'M2M token with the required scope', expect: () => [200] },
  m2m_noscope: { what: 'M2M token without the required scope', expect: () => [403] },
  m2m_session: { what: 'a session JWT at the M2M location', expect: () => [401] },
  opaque_random: { what: 'random opaque token (the API decides)', expect: unlessDown([401]) },
};

function unlessDown(statuses) {
  return (tl, t) => (tl.api(t) !== 'up' ? [...statuses, 503] : statuses);
}

// A token of a session the harness may revoke: the expired JWT or the
// opaque token, which only the API can judge.
//   live:    200 while the API answers; 503 while it does not, except that
//            an answer cached before the outage may still be used for
//            stytch_api_cache_valid after it began; either just after the
//            outage (a call begun during it may still fail).
//   revoked: 401 (or 503 while the API may fail); a 200 only within
//            stytch_api_cache_valid of the revocation (an answer given
//            before it, cached).
function sessionBound(tl, t, tok) {
  const s = tok.session;
  const cache = tl.cfg.cacheValidMs + tl.cfg.marginMs;
  const api = tl.api(t);
  const out = [];
  if (s.revokeStart === undefined || t < s.revokeStart) {
    if (api !== 'down' || t < tl.downStart(t) + cache) out.push(200);
    if (api !== 'up') out.push(503);
  } else {
    out.push(401);
    if (api !== 'up') out.push(503);
    if (t < s.revokeEnd + cache) out.push(200);
  }
  return out;
}

// The timeline of what the harness did, in the terms the oracle needs.
class Timeline {
  constructor(cfg) {
    // cooldownMs (stytch_jwks_cooldown), cacheValidMs
    // (stytch_api_cache_valid), deadlineMs (stytch_api_deadline), marginMs
    // (the clocks' and timers' slack), connGraceMs (how long after a
    // fault that cuts connections a connection error is allowed)
    this.cfg = cfg;
    this.down = [];       // {start, end, what}: the API may fail
    this.cuts = [];       // {start, end, what}: connections may be cut
    this.bounds = [];     // every time at which an answer may change
  }

  // The API may fail from start until end (Infinity while it lasts); a
  // call begun before end may still fail until the deadline has passed.
  downBegin(start, what) {
    const d = { start, end: Infinity, what };
    this.down.push(d);
    this.bounds.push(start);
    return d;
  }

  downEnd(d, end) {
    d.end = end;
    this.bounds.push(end, end + this.cfg.deadlineMs + this.cfg.marginMs);
  }

  cutBegin(start, what) {
    const c = { start, end: Infinity, what };
    this.cuts.push(c);
    return c;
  }

  cutEnd(c, end) { c.end = end; }

  // A session's revocation, from the call's start to its answer.
  revoked(session, start, end) {
    session.revokeStart = start;
    session.revokeEnd = end;
    this.bounds.push(start, end);
  }

  // What the API does at t: 'down' between an outage's start and its end
  // (when the harness had undone it), 'recovering' until a call begun
  // before the end has met the deadline, 'up' otherwise.
  api(t) {
    let state = 'up';
    for (const d of this.down) {
      if (d.start <= t && t < d.end) return 'down';
      if (d.start <= t && t < d.end + this.cfg.deadlineMs + this.cfg.marginMs) state = 'recovering';
    }
    return state;
  }

  // The start of the outage that t is in (the latest one).
  downStart(t) {
    let s = -Infinity;
    for (const d of this.down) if (d.start <= t && t < d.end && d.start > s) s = d.start;
    return s;
  }

  // The fault windows that a request's span meets, within which a
  // connection error is allowed.
  cutAt(t0, t1) {
    return this.cuts.find((c) => t0 <= c.end + this.cfg.connGraceMs && c.start <= t1);
  }

  // The statuses allowed for cls over [t0, t1]: the union of what each
  // moment allows, taken at the ends and at every change in between.
  allowed(cls, tok, t0, t1, plant) {
    const c = CLASSES[cls];
    if (!c) throw new Error(`unknown class ${cls}`);
    const times = [t0, t1];
    for (const b of this.bounds) if (b > t0 && b < t1) times.push(b);
    const set = new Set();
    for (const t of times) for (const s of c.expect(this, t, tok)) set.add(s);
    if (plant === 'oracle' && cls === 'forged_sig') return new Set([200]);
    return set;
  }
}

// The classes whose tokens are rightly let through (a live session's only
// until its revocation); any other 200 lets in what must stay out.
const GRANTED = new Set(['jwt_valid', 'jwt_newkey', 'expired_live', 'expired_revoked', 'opaque_live',
  'opaque_revoked', 'm2m_scope']);

// A request's verdict: ok, a wrong status (served: a 200 to a token that
// must be refused), a connection error within or outside a fault's window,
// a timeout.
function judge(tl, r, plant) {
  if (r.err) {
    if (r.err === 'timeout') return { kind: 'timeout' };
    const cut = tl.cutAt(r.t0, r.t1);
    return cut ? { kind: 'conn_allowed', cut } : { kind: 'conn_error' };
  }
  const allowed = tl.allowed(r.cls, r.tok, r.t0, r.t1, plant);
  if (allowed.has(r.status)) return { kind: 'ok' };
  const refuse = !GRANTED.has(r.cls) || (r.tok.session && r.tok.session.revokeStart <= r.t0);
  return { kind: r.status === 200 && refuse ? 'served' : 'wrong', allowed: [...allowed].sort() };
}

module.exports = { CLASSES, Timeline, judge, sessionBound };
