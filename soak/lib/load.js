'use strict';
// The clients: an open-loop stream of requests at a fixed rate, over
// HTTP/1.1 keep-alive (one agent: sockets enough that no request queues
// behind those waiting for a slow API, and few kept idle, so that the
// workers' open files follow the load, not its past peaks) and
// cleartext HTTP/2 with prior knowledge (a few sessions, renewed when
// nginx sends GOAWAY or a connection breaks), each request of a class
// drawn by weight; plus bursts of one class on top (filling the zone).
// Every request is recorded: class, token, protocol, start and end,
// status or connection error.  Bounded: at most maxInFlight requests
// outstanding, each ended by timeoutMs.

const http = require('node:http');
const http2 = require('node:http2');

class H2Pool {
  constructor(port, size) {
    this.url = `http://127.0.0.1:${port}`;
    this.sessions = new Array(size).fill(null);
    this.opened = 0;
  }

  session() {
    const i = Math.floor(Math.random() * this.sessions.length);
    let s = this.sessions[i];
    if (!s || s.closed || s.destroyed || s.gotGoaway) {
      s = http2.connect(this.url);
      this.opened++;
      s.on('error', () => {});
      s.on('goaway', () => { s.gotGoaway = true; });
      s.on('close', () => { if (this.sessions[i] === s) this.sessions[i] = null; });
      s.setTimeout(0);
      this.sessions[i] = s;
    }
    return s;
  }

  close() {
    for (const s of this.sessions) if (s && !s.destroyed) s.close();
  }
}

class Load {
  constructor({ h1, h2, rate, h2Share, timeoutMs, maxInFlight, now, pools, weights }) {
    Object.assign(this, { h1, h2, rate, h2Share, timeoutMs, maxInFlight, now, pools, weights });
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 32 });
    this.h2pool = new H2Pool(h2, 4);
    this.records = [];
    this.inFlight = 0;
    this.skipped = 0;     // ticks at which maxInFlight held requests back
    this.bursts = [];
    this.total = Object.values(weights).reduce((a, b) => a + b, 0);
  }

  drawClass() {
    let x = Math.random() * this.total;
    for (const [cls, w] of Object.entries(this.weights)) {
      x -= w;
      if (x < 0) return cls;
    }
    return 'jwt_valid';
  }

  send(cls) {
    const req = this.pools.request(cls);
    if (!req) return;
    const proto = Math.random() < this.h2Share ? 'h2' : 'h1';
    const r = { cls, tok: req.tok, proto, carrier: Object.keys(req.headers)[0], t0: this.now(), t1: 0, status: 0, err: null };
    this.records.push(r);
    this.inFlight++;
    let done = false;
    const finish = (status, err) => {
      if (done) return;
      done = true;
      r.t1 = this.now();
      r.status = status;
      r.err = err;
      this.inFlight--;
    };
    if (proto === 'h1') this.sendH1(req, finish);
    else this.sendH2(req, finish);
  }

  sendH1(req, finish) {
    const q = http.request({ host: '127.0.0.1', port: this.h1, path: req.path, agent: this.agent, headers: req.headers },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => finish(res.statusCode, null));
        res.on('error', (e) => finish(0, e.code || e.message));
      });
    q.setTimeout(this.timeoutMs, () => { finish(0, 'timeout'); q.destroy(); });
    q.on('error', (e) => finish(0, e.code || e.message));
    q.end();
  }

  sendH2(req, finish) {
    let st;
    try {
      st = this.h2pool.session().request({ ':path': req.path, ...req.headers });
    } catch (e) {
      finish(0, e.code || e.message);
      return;
    }
    let status = 0;
    st.on('response', (h) => { status = h[':status']; });
    st.on('data', () => {});
    st.on('end', () => finish(status, status ? null : 'no_response'));
    st.on('close', () => finish(0, st.rstCode ? `h2_rst_${st.rstCode}` : 'h2_closed'));
    st.on('error', (e) => finish(0, e.code || e.message));
    st.setTimeout(this.timeoutMs, () => { finish(0, 'timeout'); st.close(http2.constants.NGHTTP2_CANCEL); });
    st.end();
  }

  // The stream: every 10 ms, as many requests as the rate owes.
  start() {
    this.t0 = this.now();
    this.sent = 0;
    this.timer = setInterval(() => {
      const owed = Math.floor(((this.now() - this.t0) / 1000) * this.rate) - this.sent;
      for (let i = 0; i < owed; i++) {
        this.sent++;
        if (this.inFlight >= this.maxInFlight) { this.skipped++; continue; }
        this.send(this.drawClass());
      }
    }, 10);
  }

  // n requests of one class at rate a second, on top of the stream;
  // resolves when the last has been sent.
  burst(cls, n, rate) {
    return new Promise((resolve) => {
      const b = { cls, n, sent: 0, skipped: 0 };
      this.bursts.push(b);
      const t0 = this.now();
      const timer = setInterval(() => {
        const owed = Math.min(n, Math.floor(((this.now() - t0) / 1000) * rate)) - b.sent - b.skipped;
        for (let i = 0; i < owed; i++) {
          if (this.inFlight >= this.maxInFlight) { b.skipped++; continue; }
          b.sent++;
          this.send(cls);
        }
        if (b.sent + b.skipped >= n) { clearInterval(timer); resolve(b); }
      }, 10);
    });
  }

  // Stops the stream and waits for what is in flight (at most timeoutMs
  // and a little).
  async stop() {
    clearInterval(this.timer);
    const end = Date.now() + this.timeoutMs + 2000;
    while (this.inFlight > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    this.agent.destroy();
    this.h2pool.close();
  }
}

module.exports = { Load };
