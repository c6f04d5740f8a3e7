'use strict';
// The tokens the soak sends, each of a class whose right answer the oracle
// knows: minted at the emulator before the run (sessions, expired JWTs,
// forged and foreign tokens, M2M tokens), renewed while it runs (a live
// session revoked and a new one made, every few seconds; new tokens after
// a key rotation), and turned into requests (path and headers).

const crypto = require('node:crypto');

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const pick = (a) => a[Math.floor(Math.random() * a.length)];

// A promise-chain lock: a key rotation and the minting of new session
// tokens never overlap, so that no token is minted with a key nginx has
// not been shown yet, except the rotation's own probes.

// The kid in a JWT's header, or undefined.
function kidOf(v) {
  const parts = typeof v === 'string' ? v.split('.') : [];
  if (parts.length !== 3) return undefined;
  try { return JSON.parse(Buffer.from(parts[0], 'base64url')).kid; } catch { return undefined; }
}

class Lock {
  constructor() { this.tail = Promise.resolve(); }
  async hold(f) {
    const prev = this.tail;
    let release;
    this.tail = new Promise((r) => { release = r; });
    await prev;
    try { return await f(); } finally { release(); }
  }
}

class Pools {
  constructor({ emu, tl, now, sizes }) {
    Object.assign(this, { emu, tl, now, sizes });
    this.keyLock = new Lock();
    this.valid = [];        // {value}
    this.newkey = [];       // {value, rotatedAt}
    this.live = [];         // sessions {id, token, expired}
    this.revoked = [];      // sessions, revoked
    this.forgedSig = [];
    this.forgedTamper = [];
    this.forgedKid = [];
    this.garbage = [];
    this.wrongProject = [];
    this.wrongAud = [];
    this.m2mScope = [];
    this.m2mNoscope = [];
    this.revocations = 0;
    this.churnFailures = 0;
  }

  async mintJwt(body) {
    return (await this.emu.control('POST', '/jwt', body)).jwt;
  }

  async newSession(projectId) {
    const s = await this.emu.control('POST', '/sessions', { duration_minutes: 600, ...(projectId ? { project_id: projectId } : {}) });
    return s;
  }

  // A session whose expired JWT and opaque token the API judges.
  async bindableSession() {
    const s = await this.newSession();
    const expired = await this.mintJwt({ session_id: s.session_id, iat: Math.floor(Date.now() / 1000) - 3600, lifetime: 300 });
    return { id: s.session_id, token: s.session_token, expired };
  }

  async revoke(session) {
    const start = this.now();
    try {
      await this.emu.api('POST', '/v1/sessions/revoke', { session_id: session.id });
      this.tl.revoked(session, start, this.now());
      this.revocations++;
    } catch (e) {
      // done or not, nobody knows: a 200 stays allowed for this session
      this.tl.revoked(session, start, Infinity);
      this.churnFailures++;
      throw e;
    }
  }

  async setup() {
    const n = this.sizes;
    const settings = { jwt_lifetime: 86400 };
    await this.emu.control('POST', `/projects/${this.emu.projectId}/settings`, settings);
    const other = await this.emu.control('POST', '/projects', { vertical: 'consumer', ...settings });
    this.otherProject = other.project_id;
    this.kid = (await this.emu.control('GET', '/keys')).signing;

    const batch = async (count, f) => {
      const out = [];
      for (let i = 0; i < count; i += 8) {
        const part = [];
        for (let j = i; j < Math.min(count, i + 8); j++) part.push(f(j));
        out.push(...await Promise.all(part));
      }
      return out;
    };

    // sessions never revoked: their JWTs are the valid ones
    this.stable = await batch(n.stable, () => this.newSession());
    this.valid = this.stable.map((s) => ({ value: s.session_jwt }));
    this.live = await batch(n.live, () => this.bindableSession());
    const gone = await batch(n.revoked, () => this.bindableSession());
    for (const s of gone) await this.revoke(s);
    this.revoked = gone;

    await this.mintOthers();
    this.wrongProject = (await batch(n.foreign, () => this.newSession(this.otherProject)))
      .map((s) => ({ value: s.session_jwt }));
    this.wrongAud = (await batch(n.foreign, (i) => this.mintJwt({
      session_id: pick(this.stable).session_id, claims: { aud: [this.otherProject], n: i } })))
      .map((value) => ({ value }));
    this.garbage = [
      'not-a-jwt', 'abc.def.ghi', '...', 'eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0.',
      await this.mintJwt({ session_id: this.stable[0].session_id, signature: 'none' }),
      await this.mintJwt({ session_id: this.stable[0].session_id, header: { alg: 'HS256' } }),
    ].map((value) => ({ value }));
    // an RS256 token with a kid no key set has, signed by no key
    this.forgedKid.push({ value: `eyJhbGciOiJSUzI1NiIsImtpZCI6Ind1dCJ9.${'A'.repeat(120)}.${'B'.repeat(342)}` });

    const client = await this.emu.control('POST', '/m2m/clients', { scopes: ['read:users', 'write:users'] });
    this.m2mClient = client.client_id;
    await this.mintM2m();
  }

  // The tokens signed with (or naming) the current key: forged ones and
  // random kids; redone after each rotation so that they name the new kid.
  async mintOthers() {
    const n = this.sizes.forged;
    const sid = () => pick(this.stable).session_id;
    const sig = [];
    const kid = [];
    for (let i = 0; i < n; i++) {
      sig.push(this.mintJwt({ session_id: sid(), key: 'rogue', header: { kid: this.kid }, claims: { n: i } }));
      kid.push(this.mintJwt({ session_id: sid(), header: { kid: `jwk-test-${crypto.randomUUID()}` } }));
    }
    this.forgedSig.push(...(await Promise.all(sig)).map((value) => ({ value })));
    this.forgedKid.push(...(await Promise.all(kid)).map((value) => ({ value })));
    // a valid JWT whose payload says someone else: the signature no longer matches
    for (let i = 0; i < n; i++) {
      const [h, p, s] = pick(this.valid.concat(this.newkey)).value.split('.');
      const claims = JSON.parse(Buffer.from(p, 'base64url'));
      claims.sub = `user-test-${crypto.randomUUID()}`;
      this.forgedTamper.push({ value: `${h}.${b64url(JSON.stringify(claims))}.${s}` });
    }
  }

  // After a rotation: the valid JWTs signed again with the new key, and the
  // M2M pools kept to their last two batches, so that older keys can go.
  async afterRotation() {
    const valid = await Promise.all(this.stable.map((st) =>
      this.mintJwt({ session_id: st.session_id, lifetime: 86400 })));
    this.valid = valid.map((value) => ({ value }));
    const keep = 2 * this.sizes.m2m;
    for (const pool of [this.m2mScope, this.m2mNoscope]) pool.splice(0, Math.max(0, pool.length - keep));
  }

  // After keys were retired: the forged tokens that named one name a kid
  // no key set has now, another class; they go.
  dropKids(kids) {
    const keep = (t) => !kids.has(kidOf(t.value));
    this.forgedSig = this.forgedSig.filter(keep);
    this.forgedTamper = this.forgedTamper.filter(keep);
  }

  // The kids of the emulator's keys that pooled tokens are signed with.
  kidsInUse() {
    const kids = new Set();
    const add = (v) => { const kid = kidOf(v); if (kid) kids.add(kid); };
    // the garbage class's alg none and HS256 tokens name the first key:
    // it stays, so that they stay what their class says
    for (const pool of [this.valid, this.newkey, this.m2mScope, this.m2mNoscope, this.garbage]) {
      for (const t of pool) add(t.value);
    }
    for (const st of this.live.concat(this.revoked)) add(st.expired);
    return kids;
  }

  async mintM2m() {
    const n = this.sizes.m2m;
    const mint = (scopes, i) => this.emu.control('POST', '/m2m/token',
      { client_id: this.m2mClient, scopes, claims: { n: i } }).then((t) => ({ value: t.access_token }));
    const a = [];
    const b = [];
    for (let i = 0; i < n; i++) { a.push(mint('read:users write:users', i)); b.push(mint('write:users', i)); }
    this.m2mScope.push(...await Promise.all(a));
    this.m2mNoscope.push(...await Promise.all(b));
  }

  // One step of churn: a live session revoked (its tokens move to the
  // revoked classes), and a new one made in its place.  Never while a key
  // rotation is under way.
  churn() {
    return this.keyLock.hold(async () => {
      if (this.live.length > 1) {
        const i = Math.floor(Math.random() * this.live.length);
        const [s] = this.live.splice(i, 1);
        try {
          await this.revoke(s);
          this.revoked.push(s);
          if (this.revoked.length > this.sizes.revokedKeep) this.revoked.shift();
        } catch { /* counted; the session is sent no more */ }
      }
      try { this.live.push(await this.bindableSession()); } catch { this.churnFailures++; }
    });
  }

  // After a rotation to kid: probe tokens (judged as jwt_newkey) first.
  async rotationProbes(rotatedAt, count) {
    const out = [];
    for (let i = 0; i < count; i++) {
      out.push(await this.mintJwt({ session_id: pick(this.stable).session_id, lifetime: 86400, claims: { r: i } }));
    }
    this.newkey.push(...out.map((value) => ({ value, rotatedAt })));
    if (this.newkey.length > 4 * this.sizes.stable) this.newkey.splice(0, count);
  }

  // Requests: the class's path and headers, and the token record the
  // oracle reads (the session, for the classes bound to one).
  request(cls) {
    const jwt = (value) => (Math.random() < 0.5
      ? { cookie: `stytch_session_jwt=${value}` } : { authorization: `Bearer ${value}` });
    const opaque = (value) => (Math.random() < 0.5
      ? { cookie: `stytch_session=${value}` } : { authorization: `Bearer ${value}` });
    const simple = (pool, how = jwt) => { const t = pick(pool); return t && { path: '/p/', headers: how(t.value), tok: t }; };
    switch (cls) {
      case 'jwt_valid': return simple(this.valid);
      case 'jwt_newkey': return simple(this.newkey);
      case 'expired_live': case 'expired_revoked': case 'opaque_live': case 'opaque_revoked': {
        const s = pick(cls.endsWith('live') ? this.live : this.revoked);
        if (!s) return null;
        const headers = cls.startsWith('expired') ? jwt(s.expired) : opaque(s.token);
        return { path: '/p/', headers, tok: { session: s } };
      }
      case 'forged_sig': return simple(this.forgedSig);
      case 'forged_tamper': return simple(this.forgedTamper);
      case 'forged_kid': return simple(this.forgedKid);
      case 'garbage': return simple(this.garbage, (v) => ({ cookie: `stytch_session_jwt=${v}` }));
      case 'wrong_project': return simple(this.wrongProject);
      case 'wrong_aud': return simple(this.wrongAud);
      case 'm2m_scope': case 'm2m_noscope': {
        const t = pick(cls === 'm2m_scope' ? this.m2mScope : this.m2mNoscope);
        return t && { path: '/m2m/', headers: { authorization: `Bearer ${t.value}` }, tok: t };
      }
      case 'm2m_session': {
        const t = pick(this.valid);
        return { path: '/m2m/', headers: { authorization: `Bearer ${t.value}` }, tok: t };
      }
      case 'opaque_random': {
        const value = b64url(crypto.randomBytes(33));
        return { path: '/p/', headers: opaque(value), tok: {} };
      }
      default: throw new Error(`unknown class ${cls}`);
    }
  }
}

module.exports = { Pools, Lock };
