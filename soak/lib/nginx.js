'use strict';
// The nginx under soak: its configuration (several workers, the zone, a
// protected static location, an M2M location with a required scope, the
// API location, stytch_status; HTTP/1.1 on one port, cleartext HTTP/2 on
// another), starting and stopping it, the faults done to it (reload,
// binary upgrade, a worker killed), what /proc says of its processes, and
// its error log read afterwards.

const { execFile } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A loopback port nothing listens on now.
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function run(cmd, args, timeoutMs = 15000) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

// Waits until f() is true, every stepMs, for at most ms; returns f()'s last.
async function until(f, ms, stepMs = 100) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v || Date.now() >= end) return v;
    await sleep(stepMs);
  }
}

class Nginx {
  constructor({ bin, module, dir, workers, zoneSize, emu, cfg, plant }) {
    Object.assign(this, { bin, module, dir, workers, zoneSize, emu, cfg, plant });
    this.reloads = 0;
  }

  get pidFile() { return path.join(this.dir, 'logs/nginx.pid'); }
  get errorLog() { return path.join(this.dir, 'logs/error.log'); }

  args(extra = []) {
    return ['-p', this.dir + '/', '-c', 'conf/nginx.conf', '-e', 'logs/error.log', ...extra];
  }

  async prepare() {
    this.h1 = await freePort();
    this.h2 = await freePort();
    for (const d of ['conf', 'logs', 'html/p', 'html/m2m']) fs.mkdirSync(path.join(this.dir, d), { recursive: true });
    fs.writeFileSync(path.join(this.dir, 'html/p/index.html'), 'protected content\n');
    fs.writeFileSync(path.join(this.dir, 'html/m2m/index.html'), 'machine content\n');
    this.writeConf();
  }

  // The configuration; a reload alternates keepalive_timeout, so that each
  // reload reads a configuration that changed.  SOAK_PLANT=nginx lets
  // every request through the protected location (stytch_auth report):
  // the soak must then fail.
  writeConf() {
    const auth = this.plant === 'nginx' ? 'report' : 'on';
    const user = process.getuid && process.getuid() === 0 ? 'user root;' : '';
    const conf = `# written by soak/soak
load_module ${this.module};
${user}
worker_processes ${this.workers};
worker_shutdown_timeout 5s;
pid logs/nginx.pid;
error_log logs/error.log notice;
events { worker_connections 2048; }
http {
    access_log off;
    keepalive_timeout ${this.reloads % 2 ? 70 : 65}s;
    stytch_zone soak ${this.zoneSize};
    stytch_project_id ${this.emu.projectId};
    stytch_secret ${this.emu.secret};
    stytch_api_url ${this.emu.url};
    stytch_jwks_cooldown ${this.cfg.cooldownMs / 1000}s;
    stytch_fetch_timeout 2s;
    stytch_api_deadline ${this.cfg.deadlineMs / 1000}s;
    stytch_api_cache_valid ${this.cfg.cacheValidMs / 1000}s;
    stytch_retry_after 1s;

    upstream stytch_api {
        server 127.0.0.1:${this.emu.port};
        keepalive 16;
    }

    server {
        listen 127.0.0.1:${this.h1};
        listen 127.0.0.1:${this.h2} http2;
        root html;

        location /p/ {
            stytch_auth ${auth};
        }

        location /m2m/ {
            stytch_auth m2m;
            stytch_require_scope read:users;
        }

        location = /status {
            allow 127.0.0.1;
            deny all;
            stytch_status;
        }

        location /_stytch_api/ {
            internal;
            proxy_pass http://stytch_api/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream error timeout non_idempotent;
            proxy_connect_timeout 1s;
            proxy_read_timeout 5s;
        }
    }
}
`;
    fs.writeFileSync(path.join(this.dir, 'conf/nginx.conf'), conf);
  }

  async start() {
    const t = await run(this.bin, this.args(['-t']));
    if (t.code !== 0) throw new Error(`nginx -t failed:\n${t.out}`);
    const r = await run(this.bin, this.args());
    if (r.code !== 0) throw new Error(`nginx did not start:\n${r.out}`);
    const ok = await until(() => this.master() && this.workerPids().length >= this.workers, 10000);
    if (!ok) throw new Error('nginx started no workers within 10 s');
  }

  master(file = this.pidFile) {
    try { return Number(fs.readFileSync(file, 'utf8').trim()) || 0; } catch { return 0; }
  }

  // The master's children: its workers, the old ones still shutting down
  // included.
  workerPids(master = this.master()) {
    if (!master) return [];
    try {
      return fs.readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/)
        .filter(Boolean).map(Number);
    } catch { return []; }
  }

  // nginx -s reload; done when the master has workers none of which it had
  // before, or 10 s.  Returns what it saw.
  async reload() {
    const master = this.master();
    const before = new Set(this.workerPids(master));
    this.reloads++;
    this.writeConf();
    const r = await run(this.bin, this.args(['-s', 'reload']));
    if (r.code !== 0) throw new Error(`nginx -s reload failed: ${r.out}`);
    const ok = await until(() => {
      const now = this.workerPids(master);
      return now.length === this.workers && now.every((p) => !before.has(p));
    }, 10000);
    if (!ok) throw new Error(`after a reload the workers were ${this.workerPids(master).join(' ')} (before: ${[...before].join(' ')})`);
    return { master };
  }

  // The binary upgrade: USR2 (a new master from the same binary, on the
  // same sockets), WINCH (the old workers finish and leave), QUIT (the
  // old master leaves).
  async upgrade() {
    const old = this.master();
    process.kill(old, 'SIGUSR2');
    const fresh = await until(() => {
      const m = this.master();
      return m && m !== old && fs.existsSync(`${this.pidFile}.oldbin`)
        && this.workerPids(m).length >= this.workers ? m : 0;
    }, 10000);
    if (!fresh) throw new Error('USR2: no new master with its workers within 10 s');
    // the new master is the old one's child too
    const oldWorkers = () => this.workerPids(old).filter((p) => p !== fresh);
    process.kill(old, 'SIGWINCH');
    if (!await until(() => oldWorkers().length === 0, 10000)) {
      throw new Error(`WINCH: the old master ${old} still has workers after 10 s`);
    }
    process.kill(old, 'SIGQUIT');
    if (!await until(() => !alive(old), 10000)) throw new Error(`QUIT: the old master ${old} still runs after 10 s`);
    return { old, fresh };
  }

  // A worker, SIGKILLed (or, for the soak's own test, SIGSEGV: a crash
  // the error log check must catch).
  killWorker(signal = 'SIGKILL') {
    const pids = this.workerPids();
    if (!pids.length) throw new Error('no worker to kill');
    const pid = pids[Math.floor(Math.random() * pids.length)];
    process.kill(pid, signal);
    return pid;
  }

  // Stops the master, and the old one that a binary upgrade that failed
  // half-way may have left; SIGKILL after 10 s.
  async stop() {
    for (const m of [this.master(`${this.pidFile}.oldbin`), this.master()]) {
      if (!m || !alive(m)) continue;
      const workers = this.workerPids(m);
      process.kill(m, 'SIGQUIT');
      if (!await until(() => !alive(m), 10000)) {
        for (const p of [m, ...workers]) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
      }
    }
  }

  // stytch_status as JSON, or null.
  status() {
    return new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: this.h1, path: '/status', agent: false }, (res) => {
        let s = '';
        res.on('data', (d) => { s += d; });
        res.on('end', () => { try { resolve(JSON.parse(s)); } catch { resolve(null); } });
        res.on('error', () => resolve(null));
      });
      req.setTimeout(3000, () => req.destroy());
      req.on('error', () => resolve(null));
    });
  }

  // RSS (kB), anonymous RSS (kB) and open files of the master and of each
  // worker, from /proc.  Anonymous RSS is what a leak grows: the file-backed
  // part depends on how the process came to be (a master that daemonized
  // left its libraries' pages behind in fork(); the one a binary upgrade
  // exec()s maps them all, some 10 MB more of RSS for the same heap).
  sample() {
    const m = this.master();
    const one = (pid) => {
      try {
        const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
        const rss = Number(/VmRSS:\s+(\d+)/.exec(st)[1]);
        const anon = Number(/RssAnon:\s+(\d+)/.exec(st)[1]);
        const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
        return { pid, rss, anon, fds };
      } catch { return null; }
    };
    return { master: m ? one(m) : null, workers: this.workerPids(m).map(one).filter(Boolean) };
  }
}

// The error log's lines that matter: every line at alert, crit or emerg,
// "exited on signal" lines, and a count of each level.
function scanErrorLog(text) {
  const levels = {};
  const serious = [];
  const signals = [];
  const errors = [];
  for (const line of text.split('\n')) {
    const m = /^\S+ \S+ \[(\w+)\] /.exec(line);
    if (!m) continue;
    levels[m[1]] = (levels[m[1]] || 0) + 1;
    const sig = /(\S+ process) (\d+) exited on signal (\d+)/.exec(line);
    if (sig) signals.push({ what: sig[1], pid: Number(sig[2]), signal: Number(sig[3]), line });
    const locked = /shared memory zone "[^"]*" was locked by (\d+)/.exec(line);
    if (['alert', 'crit', 'emerg'].includes(m[1])) {
      serious.push({ level: m[1], line, sigPid: sig ? Number(sig[2]) : locked ? Number(locked[1]) : 0,
        signal: sig ? Number(sig[3]) : 0, locked: !!locked });
    }
    if (m[1] === 'error') errors.push(line);
  }
  return { levels, serious, signals, errors };
}

module.exports = { Nginx, freePort, scanErrorLog, sleep, until, alive };
