'use strict';
// The faults, done one after the other on a schedule while the load runs,
// each written into the timeline as it begins and ends so that the oracle
// knows what it allows:
//   reload     nginx -s reload                       connections may be cut
//   upgrade    USR2, WINCH, QUIT of the old master    connections may be cut
//   kill       a worker SIGKILLed while the API is slow (1 s, below the
//              deadline: the API still answers)       connections may be cut
//   rotate     a new signing key at the emulator; its JWTs must be served
//              once nginx has been shown them; the keys before the
//              previous one that no pooled token needs are no longer served
//   fill       a burst of random opaque tokens that fills the zone's cache
//   refuse     the emulator refuses connections       the API is down
//   slow       the API answers after the deadline     the API is down
//   r429       the API answers 429                    the API is down
//   malformed  the API answers truncated JSON         the API is down
// and after each, the gap: everything back to normal.

const { sleep, until } = require('./nginx.js');

// the classes whose requests wait for the API (when not cached)
const API_CLASSES = new Set(['expired_live', 'expired_revoked', 'opaque_live', 'opaque_revoked', 'wrong_aud',
  'opaque_random']);

const ORDER = ['reload', 'fill', 'refuse', 'rotate', 'slow', 'kill', 'r429', 'upgrade', 'malformed'];

function makeActs(ctx) {
  const { tl, nginx, emu, pools, load, cfg, now } = ctx;
  const clearFaults = () => emu.control('DELETE', '/faults');

  // The API down for ms while fault f is set on sessions/authenticate.
  const apiFault = (what, fault) => async () => {
    const d = tl.downBegin(now(), what);
    try {
      await emu.control('POST', '/faults', { endpoint: 'authenticate', ...fault });
      await sleep(cfg.downMs);
      await clearFaults();
    } finally {
      tl.downEnd(d, now());
    }
    return fault;
  };

  const cut = (what, f) => async () => {
    const c = tl.cutBegin(now(), what);
    try { return await f(); } finally { tl.cutEnd(c, now()); }
  };

  const zone = async () => {
    const s = await nginx.status();
    return s ? { used: s.zone.size - s.zone.free, entries: s.zone.cache_entries, evictions: s.zone.cache_evictions } : null;
  };

  return {
    reload: cut('reload', () => nginx.reload()),
    upgrade: cut('upgrade', () => nginx.upgrade()),

    kill: async () => {
      await emu.control('POST', '/faults', { endpoint: 'authenticate', latency_ms: cfg.killLatencyMs });
      try {
        await sleep(cfg.killLatencyMs + 200);      // calls in flight now
        const c = tl.cutBegin(now(), 'kill');
        try {
          const signal = ctx.plant === 'crash' ? 'SIGSEGV' : 'SIGKILL';
          // requests waiting for the slowed API now, over all workers
          const waiting = load.records.filter((r) => !r.t1 && API_CLASSES.has(r.cls)).length;
          const pid = nginx.killWorker(signal);
          if (signal === 'SIGKILL') ctx.killed.add(pid);
          await sleep(cfg.killLatencyMs + 500);
          const respawned = await until(() => nginx.workerPids().length >= nginx.workers, 5000);
          if (!respawned) throw new Error(`no worker came in place of ${pid} within 5 s`);
          return { pid, signal, waiting };
        } finally { tl.cutEnd(c, now()); }
      } finally { await clearFaults(); }
    },

    rotate: () => pools.keyLock.hold(async () => {
      const before = await nginx.status();
      const g0 = before ? before.projects[0].keys_generation : 0;
      const r = await emu.control('POST', '/keys/rotate');
      const rotatedAt = now();
      pools.kid = r.kid;
      await pools.rotationProbes(rotatedAt, 8);
      // the probes (class jwt_newkey) make nginx fetch the new key set
      const loaded = await until(async () => {
        const s = await nginx.status();
        return s && s.projects[0].keys_generation > g0;
      }, 20000, 250);
      if (!loaded) throw new Error(`nginx did not load the key set with ${r.kid} within 20 s`);
      // from now on every token is minted with the new key
      await pools.mintOthers();
      await pools.mintM2m();
      // Stytch serves the signing key and the one before it: the older
      // ones that no pooled token needs go, or the key set would outgrow
      // the zone over a long run
      await pools.afterRotation();
      const inUse = pools.kidsInUse();
      const keys = await emu.control('GET', '/keys');
      const retired = new Set();
      for (const kid of keys.served) {
        if (kid !== r.kid && kid !== r.previous && !inUse.has(kid)) {
          await emu.control('POST', '/keys/retire', { kid });
          retired.add(kid);
        }
      }
      pools.dropKids(retired);
      return { kid: r.kid, previous: r.previous, generation: g0 };
    }),

    fill: async () => {
      const z0 = await zone();
      const b = await load.burst('opaque_random', cfg.fillTokens, cfg.fillRate);
      await sleep(500);
      const z1 = await zone();
      return { tokens: b.sent, skipped: b.skipped, before: z0, after: z1 };
    },

    refuse: async () => {
      const d = tl.downBegin(now(), 'refuse');
      emu.refusing = true;
      try {
        await emu.control('POST', '/refuse', { ms: cfg.downMs });
        await sleep(cfg.downMs);
        const back = await until(() => emu.control('GET', '/health', undefined, { timeoutMs: 1000 })
          .then(() => true, () => false), 5000);
        if (!back) throw new Error('the emulator did not listen again within 5 s');
      } finally {
        emu.refusing = false;
        tl.downEnd(d, now());
      }
      return { ms: cfg.downMs };
    },

    slow: apiFault('slow', { latency_ms: cfg.deadlineMs + 1000 }),
    r429: apiFault('429', { status: 429 }),
    malformed: apiFault('malformed', { body: 'malformed' }),
  };
}

// Runs the acts until the run's end is near: the first round in ORDER,
// the later rounds shuffled by rand.  Each act's start, end, what it saw
// or its error are kept in ctx.done.
async function schedule(ctx, names, endAt, rand) {
  const acts = makeActs(ctx);
  let round = [...names];
  const { now, cfg } = ctx;
  await sleep(cfg.warmupMs);
  while (names.length) {
    for (const name of round) {
      if (now() + cfg.actRoomMs > endAt || ctx.stopping) return;
      const entry = { name, start: now(), end: 0, detail: null, error: null };
      ctx.done.push(entry);
      try {
        entry.detail = await acts[name]();
      } catch (e) {
        entry.error = e.message;
      }
      entry.end = now();
      if (ctx.onAct) ctx.onAct(entry);
      await sleep(cfg.gapMs);
    }
    round = [...names];
    for (let i = round.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [round[i], round[j]] = [round[j], round[i]];
    }
  }
}

module.exports = { ORDER, makeActs, schedule };
