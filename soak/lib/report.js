'use strict';
// What the soak concludes: every request judged by the oracle, the
// figures (requests per class and protocol, statuses, violations,
// connection errors, faults done), the resources per third of the run
// (workers' RSS and open files, the master's, the zone's use) and whether
// they stayed flat, the error log's verdict; and the list of violations
// that makes the run fail.

const { judge } = require('./oracle.js');

const median = (xs) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};
const max = (xs) => (xs.length ? Math.max(...xs) : NaN);

// Phases: the run's thirds (warm-up, middle, last).
function phaseOf(t, start, end) {
  const third = (end - start) / 3;
  if (t < start + third) return 'warm-up';
  if (t < start + 2 * third) return 'middle';
  return 'last';
}

// The metrics watched for growth, each with its tolerance: the last
// third's median may exceed the middle third's by tol (a fraction) plus
// slack (in the metric's unit).
const FLAT = [
  { key: 'workerAnon', what: 'anon RSS/worker (kB)', tol: 0.15, slack: 1024 },
  { key: 'workerFds', what: 'open files per worker', tol: 0.25, slack: 16 },
  { key: 'masterAnon', what: "master's anon RSS (kB)", tol: 0.10, slack: 512 },
  { key: 'masterFds', what: "master's open files", tol: 0, slack: 4 },
  { key: 'zoneUsed', what: 'zone in use (bytes)', tol: 0.25, slack: 16384 },
];

// One sample's metrics from nginx.sample() and stytch_status.
function metrics(s, status) {
  const w = s.workers;
  return {
    workers: w.length,
    workerRss: w.length ? w.reduce((a, x) => a + x.rss, 0) / w.length : NaN,
    workerRssMax: max(w.map((x) => x.rss)),
    workerAnon: w.length ? w.reduce((a, x) => a + x.anon, 0) / w.length : NaN,
    workerFds: w.length ? w.reduce((a, x) => a + x.fds, 0) / w.length : NaN,
    masterRss: s.master ? s.master.rss : NaN,
    masterAnon: s.master ? s.master.anon : NaN,
    masterFds: s.master ? s.master.fds : NaN,
    zoneUsed: status ? status.zone.size - status.zone.free : NaN,
    zoneSize: status ? status.zone.size : NaN,
    cacheEntries: status ? status.zone.cache_entries : NaN,
    evictions: status ? status.zone.cache_evictions : NaN,
  };
}

function flatness(samples, start, end) {
  const by = { 'warm-up': [], middle: [], last: [] };
  for (const s of samples) by[phaseOf(s.t, start, end)].push(s.m);
  const rows = [];
  const fails = [];
  for (const f of FLAT) {
    const med = {};
    const mx = {};
    for (const p of Object.keys(by)) {
      const xs = by[p].map((m) => m[f.key]).filter(Number.isFinite);
      med[p] = median(xs);
      mx[p] = max(xs);
    }
    const limit = med.middle * (1 + f.tol) + f.slack;
    const ok = !(med.last > limit);
    rows.push({ ...f, med, mx, limit, ok });
    if (!ok) fails.push(`${f.what} grew: last third's median ${fmt(med.last)} > ${fmt(limit)} (middle ${fmt(med.middle)} + ${f.tol * 100}% + ${f.slack})`);
  }
  const extra = {};
  for (const p of Object.keys(by)) {
    extra[p] = {
      samples: by[p].length,
      workers: median(by[p].map((m) => m.workers)),
      workerRss: median(by[p].map((m) => m.workerRss).filter(Number.isFinite)),
      workerRssMax: max(by[p].map((m) => m.workerRssMax).filter(Number.isFinite)),
      masterRss: median(by[p].map((m) => m.masterRss).filter(Number.isFinite)),
      entries: median(by[p].map((m) => m.cacheEntries).filter(Number.isFinite)),
      entriesMax: max(by[p].map((m) => m.cacheEntries).filter(Number.isFinite)),
    };
  }
  return { rows, fails, extra };
}

const fmt = (x) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? Math.round(x).toString() : x.toFixed(1)) : '-');

// The error log: no crash (a process that exited on a signal other than
// the SIGKILLs the soak sent), nothing at alert, crit or emerg but what
// those kills explain.
function logVerdict(scan, killed) {
  const fails = [];
  for (const s of scan.signals) {
    if (!(s.signal === 9 && killed.has(s.pid))) fails.push(`crash: ${s.line}`);
  }
  let explained = 0;
  for (const l of scan.serious) {
    if (l.sigPid && killed.has(l.sigPid) && (l.signal === 9 || l.locked)) { explained++; continue; }
    if (/exited on signal/.test(l.line)) continue;   // already counted as a crash
    fails.push(`[${l.level}] ${l.line}`);
  }
  return { fails, explained };
}

// The [error] lines, grouped by their text without numbers and addresses.
function errorKinds(lines) {
  const kinds = new Map();
  for (const l of lines) {
    const k = l.replace(/^\S+ \S+ \[error\] \d+#\d+: (\*\d+ )?/, '')
      .replace(/, client: .*$/, '').replace(/\d+/g, 'N').slice(0, 140);
    kinds.set(k, (kinds.get(k) || 0) + 1);
  }
  return [...kinds.entries()].sort((a, b) => b[1] - a[1]);
}

function analyse({ tl, records, plant }) {
  const classes = new Map();
  const violations = [];
  const conn = { allowed: 0, outside: 0, byFault: new Map(), codes: new Map() };
  const protos = { h1: 0, h2: 0 };
  for (const r of records) {
    if (!r.t1) continue;   // still in flight at the end: not judged
    protos[r.proto]++;
    let c = classes.get(r.cls);
    if (!c) {
      c = { sent: 0, statuses: new Map(), conn: 0, violations: 0, ms: [] };
      classes.set(r.cls, c);
    }
    c.sent++;
    const v = judge(tl, r, plant);
    if (r.err) {
      c.conn++;
      const key = `${v.kind === 'conn_allowed' ? v.cut.what : 'outside'} ${r.proto} ${r.err}`;
      conn.codes.set(key, (conn.codes.get(key) || 0) + 1);
      if (v.kind === 'conn_allowed') {
        conn.allowed++;
        conn.byFault.set(v.cut.what, (conn.byFault.get(v.cut.what) || 0) + 1);
      }
    } else {
      c.statuses.set(r.status, (c.statuses.get(r.status) || 0) + 1);
      c.ms.push(r.t1 - r.t0);
    }
    if (v.kind !== 'ok' && v.kind !== 'conn_allowed') {
      c.violations++;
      if (v.kind === 'conn_error') conn.outside++;
      violations.push({ r, v });
    }
  }
  for (const c of classes.values()) {
    const ms = c.ms.sort((x, y) => x - y);
    const q = (f) => (ms.length ? ms[Math.min(ms.length - 1, Math.floor(f * ms.length))] : NaN);
    c.latency = { p50: q(0.5), p99: q(0.99), max: ms.length ? ms[ms.length - 1] : NaN };
    delete c.ms;
  }
  return { classes, violations, conn, protos };
}

module.exports = { analyse, flatness, metrics, logVerdict, errorKinds, phaseOf, median, fmt, FLAT };
