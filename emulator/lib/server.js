'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The HTTP(S) server: reads each request, sends /emulator/ to the control
// API and the rest through the API's routing, counting, recording and
// faults; keeps track of connections so that they can be refused, and
// closes keep-alive connections that stay idle too long, as Stytch's edge
// does.

const http = require('node:http');
const https = require('node:https');
const { ApiError, sendError } = require('./errors.js');
const routes = require('./routes.js');
const control = require('./control.js');
const store = require('./store.js');
const traffic = require('./traffic.js');
const sdkFrontend = require('./sdk-frontend.js');

const MAX_BODY = 1024 * 1024;

function fail(st, res, env, e) {
  if (e instanceof ApiError) return sendError(res, env, e);
  process.stderr.write(`stytch-emulator: ${e.stack}\n`);
  return sendError(res, env, new ApiError('internal_server_error'));
}

function runApi(st, route, params, req, res, raw) {
  let env = store.defaultProject(st).env;
  try {
    if (req.method !== route.method) throw new ApiError('method_not_allowed');
    const project = routes.resolveProject(st, route, req, params);
    env = project.env;
    const now = Date.now();
    if (traffic.overRateLimit(project, route.endpoint, now)) {
      st.counters.rate_limited++;
      throw new ApiError('too_many_requests');
    }
    route.handler(st, { req, res, raw, params, project, now });
  } catch (e) {
    fail(st, res, env, e);
  }
}

function dispatch(st, req, res, pathname, qs, raw) {
  if (pathname.startsWith('/emulator/')) {
    return control.handleControl(st, req, res, pathname, new URLSearchParams(qs), raw,
      { refuse: (ms) => refuse(st, ms) });
  }
  if (sdkFrontend.isSdkPath(pathname)) {
    // The frontend SDK's calls come from browsers: CORS, errors included.
    if (req.method === 'OPTIONS') return sdkFrontend.preflight(req, res);
    sdkFrontend.cors(req, res);
  }
  const found = routes.classify(pathname, req.method);
  if (!found) throw new ApiError('route_not_found');
  const { route, params } = found;
  traffic.count(st, route.endpoint, route.b2b);
  traffic.record(st, route.endpoint, req, raw);
  const f = st.faults.size ? traffic.takeFault(st, route.endpoint) : null;
  const run = () => runApi(st, route, params, req, res, raw);
  if (!f) return run();
  const env = store.defaultProject(st).env;
  if (f.latency_ms > 0) setTimeout(() => traffic.applyFault(st, env, f, req, res, run), f.latency_ms);
  else traffic.applyFault(st, env, f, req, res, run);
  return undefined;
}

function onRequest(st, req, res) {
  const url = req.url;
  const qi = url.indexOf('?');
  const pathname = qi < 0 ? url : url.slice(0, qi);
  const chunks = [];
  let size = 0;
  let tooBig = false;
  req.on('data', (c) => {
    size += c.length;
    if (size > MAX_BODY) tooBig = true;
    else chunks.push(c);
  });
  req.on('end', () => {
    const env = store.defaultProject(st).env;
    if (tooBig) return sendError(res, env, new ApiError('request_too_large'));
    const raw = chunks.length === 0 ? '' : (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8');
    try {
      dispatch(st, req, res, pathname, qi < 0 ? '' : url.slice(qi + 1), raw);
    } catch (e) {
      fail(st, res, env, e);
    }
    return undefined;
  });
}

// Stops listening (open connections destroyed) and listens again on the
// same port after ms.
function refuse(st, ms) {
  const net = st.net;
  net.server.close();
  for (const s of net.sockets) s.destroy();
  net.sockets.clear();
  setTimeout(() => net.server.listen(net.boundPort, st.opts.host), ms);
}

// An edge closes a keep-alive connection that has been idle for its
// timeout by itself: no Connection: close, no Keep-Alive header announcing
// it.  Node's own keepAliveTimeout would announce it, so the emulator keeps
// the time itself, with the socket's timeout (re-armed by any traffic, at
// no cost per request): a connection is idle while nothing moves on it and
// no request is being answered.
function watchIdle(st, socket) {
  socket.inFlight = 0;
  socket.idleMs = st.net.idleTimeoutMs;
  socket.setTimeout(socket.idleMs);
  socket.on('timeout', () => {
    if (socket.inFlight > 0 || socket.destroyed) return;
    st.counters.connections_closed_idle++;
    socket.destroy();
  });
}

function createServer(st, tlsOptions) {
  const handler = (req, res) => {
    const socket = req.socket;
    socket.inFlight++;
    res.once('close', () => {
      socket.inFlight--;
      // A new idle timeout holds from the connection's next idle time.
      if (socket.idleMs !== st.net.idleTimeoutMs) {
        socket.idleMs = st.net.idleTimeoutMs;
        socket.setTimeout(socket.idleMs);
      }
    });
    onRequest(st, req, res);
  };
  const server = tlsOptions ? https.createServer(tlsOptions, handler) : http.createServer(handler);
  server.keepAliveTimeout = 0;
  server.headersTimeout = 66000;
  server.requestTimeout = 0;
  // Without a listener Node's HTTP server destroys a socket whose timeout
  // fires, even mid-answer; watchIdle decides instead.
  server.on('timeout', () => {});
  server.on('connection', (s) => {
    st.counters.connections_accepted++;
    st.net.sockets.add(s);
    s.on('close', () => st.net.sockets.delete(s));
    watchIdle(st, s);
  });
  // Over TLS the requests come on the TLS socket: the idle time moves to it
  // from its TCP socket (_parent) once the handshake is done.
  server.on('secureConnection', (s) => {
    if (s._parent) s._parent.setTimeout(0);
    watchIdle(st, s);
  });
  st.net.server = server;
  return server;
}

module.exports = { createServer };
