'use strict';
// The soak's judgement on made-up timelines: the oracle (what each class
// may be answered, before, during and after outages, revocations and
// rotations), the connection-error windows, the error-log verdict and the
// flatness check.  node --test soak/test/

const test = require('node:test');
const assert = require('node:assert/strict');

const { Timeline, judge, CLASSES } = require('../lib/oracle.js');
const { logVerdict, flatness } = require('../lib/report.js');
const { scanErrorLog } = require('../lib/nginx.js');

const cfg = { cooldownMs: 1000, cacheValidMs: 5000, deadlineMs: 2000, marginMs: 1000, connGraceMs: 3000 };
const req = (cls, status, t0, t1 = t0 + 10, tok = {}, err = null) => ({ cls, status, t0, t1, tok, err });

test('a valid JWT has one right answer, whatever the API does', () => {
  const tl = new Timeline(cfg);
  const d = tl.downBegin(1000, 'refuse');
  tl.downEnd(d, 4000);
  for (const t of [0, 2000, 5000, 60000]) {
    assert.equal(judge(tl, req('jwt_valid', 200, t)).kind, 'ok');
    assert.equal(judge(tl, req('jwt_valid', 503, t)).kind, 'wrong');
    assert.equal(judge(tl, req('jwt_valid', 401, t)).kind, 'wrong');
  }
});

test('forged tokens are never served; 503 only where the API decides and is down', () => {
  const tl = new Timeline(cfg);
  const d = tl.downBegin(1000, '429');
  tl.downEnd(d, 4000);
  assert.equal(judge(tl, req('forged_sig', 200, 2000)).kind, 'served');
  assert.equal(judge(tl, req('forged_sig', 503, 2000)).kind, 'wrong');
  assert.equal(judge(tl, req('forged_kid', 503, 2000)).kind, 'ok');
  assert.equal(judge(tl, req('forged_kid', 503, 20000)).kind, 'wrong');
  assert.equal(judge(tl, req('wrong_project', 200, 2000)).kind, 'served');
  assert.equal(judge(tl, req('opaque_random', 503, 2000)).kind, 'ok');
  assert.equal(judge(tl, req('opaque_random', 200, 2000)).kind, 'served');
});

test('M2M: 200 with the scope, 403 without, even while the API is down', () => {
  const tl = new Timeline(cfg);
  tl.downBegin(0, 'refuse');
  assert.equal(judge(tl, req('m2m_scope', 200, 100)).kind, 'ok');
  assert.equal(judge(tl, req('m2m_noscope', 403, 100)).kind, 'ok');
  assert.equal(judge(tl, req('m2m_noscope', 200, 100)).kind, 'served');
  assert.equal(judge(tl, req('m2m_scope', 503, 100)).kind, 'wrong');
});

test('a live session: 200 while up, 503 while down, a cached 200 only for the cache validity', () => {
  const tl = new Timeline(cfg);
  const tok = { session: {} };
  const d = tl.downBegin(10000, 'slow');
  tl.downEnd(d, 20000);
  assert.equal(judge(tl, req('expired_live', 200, 5000, 5010, tok)).kind, 'ok');
  assert.equal(judge(tl, req('expired_live', 503, 5000, 5010, tok)).kind, 'wrong');
  assert.equal(judge(tl, req('expired_live', 503, 12000, 12010, tok)).kind, 'ok');
  assert.equal(judge(tl, req('expired_live', 200, 12000, 12010, tok)).kind, 'ok');     // cached before
  assert.equal(judge(tl, req('expired_live', 200, 17000, 17010, tok)).kind, 'wrong');  // 7 s into it
  // just after: either; then 200 only
  assert.equal(judge(tl, req('expired_live', 503, 21000, 21010, tok)).kind, 'ok');
  assert.equal(judge(tl, req('expired_live', 200, 21000, 21010, tok)).kind, 'ok');
  assert.equal(judge(tl, req('expired_live', 503, 24000, 24010, tok)).kind, 'wrong');
  // a request that spans the outage's start may have been answered before it
  assert.equal(judge(tl, req('expired_live', 200, 9990, 16500, tok)).kind, 'ok');
});

test('a revoked session: 401, and a 200 only within the cache validity of the revocation', () => {
  const tl = new Timeline(cfg);
  const session = {};
  tl.revoked(session, 10000, 10050);
  const tok = { session };
  assert.equal(judge(tl, req('expired_revoked', 200, 9000, 9010, tok)).kind, 'ok');      // still live
  assert.equal(judge(tl, req('expired_revoked', 401, 9000, 9010, tok)).kind, 'wrong');
  assert.equal(judge(tl, req('expired_revoked', 200, 14000, 14010, tok)).kind, 'ok');    // cached
  assert.equal(judge(tl, req('expired_revoked', 401, 14000, 14010, tok)).kind, 'ok');
  assert.equal(judge(tl, req('expired_revoked', 200, 16100, 16110, tok)).kind, 'served');
  assert.equal(judge(tl, req('opaque_revoked', 200, 30000, 30010, tok)).kind, 'served');
  assert.equal(judge(tl, req('opaque_revoked', 503, 30000, 30010, tok)).kind, 'wrong');
  const d = tl.downBegin(40000, 'refuse');
  tl.downEnd(d, 43000);
  assert.equal(judge(tl, req('opaque_revoked', 503, 41000, 41010, tok)).kind, 'ok');
  assert.equal(judge(tl, req('opaque_revoked', 200, 41000, 41010, tok)).kind, 'served');
});

test("a new key's JWT: 401 allowed only within the cooldown after the rotation", () => {
  const tl = new Timeline(cfg);
  const tok = { rotatedAt: 5000 };
  assert.equal(judge(tl, req('jwt_newkey', 401, 5500, 5510, tok)).kind, 'ok');
  assert.equal(judge(tl, req('jwt_newkey', 401, 8000, 8010, tok)).kind, 'wrong');
  assert.equal(judge(tl, req('jwt_newkey', 200, 8000, 8010, tok)).kind, 'ok');
});

test('connection errors: allowed within a cut and its grace, not elsewhere; timeouts never', () => {
  const tl = new Timeline(cfg);
  const c = tl.cutBegin(10000, 'kill');
  tl.cutEnd(c, 12000);
  assert.equal(judge(tl, req('jwt_valid', 0, 11000, 11010, {}, 'ECONNRESET')).kind, 'conn_allowed');
  assert.equal(judge(tl, req('jwt_valid', 0, 14500, 14510, {}, 'ECONNRESET')).kind, 'conn_allowed');
  assert.equal(judge(tl, req('jwt_valid', 0, 16000, 16010, {}, 'ECONNRESET')).kind, 'conn_error');
  assert.equal(judge(tl, req('jwt_valid', 0, 11000, 21000, {}, 'timeout')).kind, 'timeout');
  // a cut does not excuse a wrong status
  assert.equal(judge(tl, req('forged_sig', 200, 11000)).kind, 'served');
});

test('the planted oracle calls a forged token valid, so the real 401 is wrong', () => {
  const tl = new Timeline(cfg);
  assert.equal(judge(tl, req('forged_sig', 401, 100), 'oracle').kind, 'wrong');
  assert.equal(judge(tl, req('forged_sig', 401, 100)).kind, 'ok');
});

test('every class has its expectation and description', () => {
  for (const [name, c] of Object.entries(CLASSES)) {
    assert.equal(typeof c.what, 'string', name);
    assert.equal(typeof c.expect, 'function', name);
  }
});

test('error log: a crash fails, the intended SIGKILL and its lock do not', () => {
  const log = [
    '2025/01/01 00:00:01 [notice] 100#100: signal 17 (SIGCHLD) received from 201',
    '2025/01/01 00:00:01 [alert] 100#100: worker process 201 exited on signal 9',
    '2025/01/01 00:00:01 [alert] 100#100: shared memory zone "soak" was locked by 201',
    '2025/01/01 00:00:02 [alert] 100#100: worker process 202 exited on signal 11 (core dumped)',
    '2025/01/01 00:00:03 [alert] 100#100: worker process 203 exited on signal 9',
    '2025/01/01 00:00:04 [alert] 100#100: *5 something else went wrong',
    '2025/01/01 00:00:05 [error] 101#101: *7 stytch: the API answered 429',
  ].join('\n');
  const scan = scanErrorLog(log);
  assert.equal(scan.levels.alert, 5);
  assert.equal(scan.errors.length, 1);
  const v = logVerdict(scan, new Set([201]));
  assert.equal(v.explained, 2);
  assert.equal(v.fails.length, 3);
  assert.match(v.fails.join('\n'), /202 exited on signal 11/);
  assert.match(v.fails.join('\n'), /203 exited on signal 9/);
  assert.match(v.fails.join('\n'), /something else/);
  assert.deepEqual(logVerdict(scanErrorLog(log.split('\n').slice(0, 3).join('\n')), new Set([201])).fails, []);
});

test('flatness: growth in the last third fails, noise does not', () => {
  const series = (f) => Array.from({ length: 90 }, (_, i) => ({ t: i * 1000,
    m: { workerAnon: f(i), workerFds: 20, masterAnon: 2000, masterFds: 13, zoneUsed: 100000 } }));
  const flat = flatness(series((i) => 4000 + (i % 3) * 50), 0, 90000);
  assert.deepEqual(flat.fails, []);
  const leak = flatness(series((i) => 4000 + i * 100), 0, 90000);   // 100 kB a second
  assert.equal(leak.fails.length, 1);
  assert.match(leak.fails[0], /anon RSS\/worker/);
});
