'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Child process: an MCP client's OAuth, with the official MCP TypeScript
// SDK (@modelcontextprotocol/sdk, from MCP_SDK_DIR, where
// emulator/lib/test-clients.js found it).
// Its auth() discovers the authorization server from server_url (RFC 9728
// protected resource metadata when the server has it, else the server's
// own RFC 8414 metadata), registers dynamically (RFC 7591), sends the
// browser to the authorization endpoint (here: fetched over HTTP with the
// emulator's auto-consent, the code taken from the redirect), exchanges
// the code with PKCE, then refreshes.  Prints one JSON report on stdout.
//
// Input: argv[2] = JSON {server_url, resource_metadata_url?, scope?,
// redirect_url?, client_name?, token_endpoint_auth_method? (none,
// client_secret_basic, client_secret_post), emulator_user?, probe_url?}.
// emulator_user is added to the authorization URL (the emulator's
// auto-consent); without it a consent given with POST
// /emulator/oauth/consent is used.  probe_url, when given, is fetched with
// the access token as a Bearer token before and after the refresh.
// NODE_EXTRA_CA_CERTS must name the emulator's certificate over TLS.
//
// With mcp_url (and tool, tool_args?), the client is an MCP client as
// an application runs one: its Streamable HTTP transport connects to
// mcp_url, is answered 401, and the SDK finds everything else from that
// answer's WWW-Authenticate (RFC 9728's resource_metadata); the code is
// exchanged with finishAuth(), the client connects again and calls the
// tool.  The report then has the steps connect (the 401), finish_auth,
// call (the tool's result), and responses: the method, status and
// WWW-Authenticate of each answer of mcp_url, and token, a short digest of
// the access token the request carried (null: none).
// When the SDK answers a refusal by sending the user to authorize again
// (a 403 error="insufficient_scope", for the challenge's scope: step-up;
// a 401 once the token is refused), the request fails with
// UnauthorizedError; the application finishes that authorization with
// finishAuth() and tries once more, connecting again over a new transport
// (a failed connect closes the transport) or calling again over the same
// connection.  Step <name>_finish_auth records it (name: call_connect,
// call, call_again).  The report also has authorizations, each
// authorization URL the SDK sent the user to, in order, and tokens, each
// token the SDK saved ({token: its digest, scope}).
// Input client_information ({client_id}, and client_secret for a
// confidential client): a Connected App the application is configured
// with; the SDK does not register.  revoke_url: after the tool call, the
// access token is revoked with POST {token} there (the emulator's
// /emulator/oauth/revoke) and the tool is called again over the same
// connection (steps revoke and call_again).
//
// "node sdk-mcp.js find" prints {dir, version} of the SDK that
// `scripts/install-deps test` installed (emulator/lib/test-clients.js),
// or {missing: why}.

const path = require('node:path');
const crypto = require('node:crypto');
const { createRequire } = require('node:module');

if (process.argv[2] === 'find') {
  process.stdout.write(`${JSON.stringify(require('./test-clients.js').find('@modelcontextprotocol/sdk'))}\n`);
  process.exit(0);
}

const sdkRequire = createRequire(path.join(process.env.MCP_SDK_DIR, 'package.json'));
const sdkAuth = sdkRequire('@modelcontextprotocol/sdk/client/auth.js');
const input = JSON.parse(process.argv[2]);

class Provider {
  constructor(cfg) {
    this.cfg = cfg;
    this.client = undefined;
    this.saved = undefined;
    this.verifier = undefined;
    this.code = undefined;
    this.authorizationUrl = undefined;
    this.redirect = undefined;
    this.authorizations = [];
    this.savedAll = [];
    if (cfg.client_information) this.client = { ...cfg.client_information };
  }

  get redirectUrl() { return this.cfg.redirect_url || 'http://127.0.0.1:9/oauth/callback'; }

  get clientMetadata() {
    const m = {
      client_name: this.cfg.client_name || 'stytch-emulator MCP client',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: this.cfg.token_endpoint_auth_method || 'none',
    };
    if (this.cfg.scope) m.scope = this.cfg.scope;
    return m;
  }

  state() { return `state-${Date.now()}`; }

  clientInformation() { return this.client; }

  saveClientInformation(info) { this.client = info; }

  tokens() { return this.saved; }

  saveTokens(t) {
    this.saved = t;
    this.savedAll.push({ token: digest(t.access_token), scope: t.scope });
  }

  saveCodeVerifier(v) { this.verifier = v; }

  codeVerifier() { return this.verifier; }

  // The browser's part: follow the authorization URL; the emulator
  // answers with a redirect to redirectUrl carrying the code (or error).
  async redirectToAuthorization(url) {
    const u = new URL(url);
    if (this.cfg.emulator_user) u.searchParams.set('emulator_user', this.cfg.emulator_user);
    this.authorizationUrl = u.href;
    this.authorizations.push(u.href);
    const r = await fetch(u, { redirect: 'manual' });
    const loc = r.headers.get('location');
    if (r.status !== 302 || !loc) throw new Error(`authorization endpoint answered ${r.status}: ${await r.text()}`);
    const back = new URL(loc);
    this.redirect = Object.fromEntries(back.searchParams);
    this.redirect.to = `${back.origin}${back.pathname}`;
    if (back.searchParams.get('error')) {
      const q = back.searchParams;
      throw new Error(`authorization failed: ${q.get('error')}: ${q.get('error_description')}`);
    }
    this.code = back.searchParams.get('code');
  }
}

// A token as the report names it: the start of its SHA-256, in hex.
function digest(token) {
  return token ? crypto.createHash('sha256').update(token).digest('hex').slice(0, 12) : null;
}

async function probe(url, token) {
  const r = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, www_authenticate: r.headers.get('www-authenticate'), body: (await r.text()).slice(0, 2000) };
}

const report = { steps: {} };

async function step(name, fn) {
  try {
    report.steps[name] = { ok: true, value: await fn() };
    return true;
  } catch (e) {
    const kind = e && e.constructor && e.constructor.name;
    report.steps[name] = { ok: false, error: `${kind}: ${String(e && e.message).slice(0, 1000)}` };
    return false;
  }
}

// An application's MCP client: the SDK's Client over its Streamable HTTP
// transport, with the provider as its OAuth client.
async function mcpClient() {
  const { Client } = sdkRequire('@modelcontextprotocol/sdk/client/index.js');
  const { StreamableHTTPClientTransport } = sdkRequire('@modelcontextprotocol/sdk/client/streamableHttp.js');
  const { UnauthorizedError } = sdkAuth;
  const provider = new Provider(input);
  const url = new URL(input.mcp_url);
  report.responses = [];
  const recording = async (u, init) => {
    const r = await fetch(u, init);
    if (String(u).startsWith(input.mcp_url)) {
      const auth = new Headers(init && init.headers).get('authorization');
      report.responses.push({ method: (init && init.method) || 'GET', status: r.status,
        www_authenticate: r.headers.get('www-authenticate'),
        token: auth ? digest(auth.replace(/^Bearer /, '')) : null });
    }
    return r;
  };
  const transport = () => new StreamableHTTPClientTransport(url, { authProvider: provider, fetch: recording });
  const newClient = () => new Client({ name: 'stytch-module-test', version: '1.0.0' });
  const finish = () => {
    report.authorizations = provider.authorizations;
    report.tokens = provider.savedAll;
    process.stdout.write(`${JSON.stringify(report)}\n`);
  };
  // fn(), and once more after the authorization that the SDK started
  // when it was refused, finished here (see above).
  let current;
  const retried = async (name, fn) => {
    const before = provider.authorizations.length;
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof UnauthorizedError) || provider.authorizations.length === before) throw e;
      const finished = await step(`${name}_finish_auth`, async () => {
        await current.finishAuth(provider.code);
        return { error: String(e.message), tokens: provider.saved };
      });
      if (!finished) throw e;
      return fn();
    }
  };
  let first = transport();
  let ok = await step('connect', async () => {
    const client = newClient();
    try {
      await client.connect(first);
    } catch (e) {
      if (e instanceof UnauthorizedError) {
        return { unauthorized: true, authorization_url: provider.authorizationUrl, client: provider.client };
      }
      throw e;
    }
    throw new Error('connected without authorization');
  });
  ok = ok && await step('finish_auth', async () => {
    await first.finishAuth(provider.code);
    return { tokens: provider.saved };
  });
  let client;
  const callTool = () => client.callTool({ name: input.tool, arguments: input.tool_args || {} });
  ok = ok && await step('call', async () => {
    await retried('call_connect', async () => {
      current = transport();
      client = newClient();
      await client.connect(current);
    });
    return retried('call', callTool);
  });
  if (ok && input.revoke_url) {
    ok = await step('revoke', async () => {
      // the SSE stream's GET, sent after connect() without waiting, is
      // answered before the token is revoked
      for (let i = 0; i < 100 && !report.responses.some((x) => x.method === 'GET'); i++) {
        await new Promise((done) => { setTimeout(done, 50); });
      }
      const r = await fetch(input.revoke_url, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: provider.saved.access_token }) });
      if (!r.ok) throw new Error(`${input.revoke_url} answered ${r.status}: ${await r.text()}`);
      return { token: digest(provider.saved.access_token), answer: await r.json() };
    });
    ok = ok && await step('call_again', () => retried('call_again', callTool));
  }
  if (client) await client.close().catch(() => {});
  finish();
}

async function main() {
  if (input.mcp_url) return mcpClient();
  const provider = new Provider(input);
  const opts = { serverUrl: input.server_url };
  if (input.resource_metadata_url) opts.resourceMetadataUrl = new URL(input.resource_metadata_url);
  if (input.scope) opts.scope = input.scope;
  let ok = await step('discover', async () => {
    const info = await sdkAuth.discoverOAuthServerInfo(input.server_url,
      input.resource_metadata_url ? { resourceMetadataUrl: new URL(input.resource_metadata_url) } : {});
    return { authorization_server_url: String(info.authorizationServerUrl),
      metadata: info.authorizationServerMetadata, resource_metadata: info.resourceMetadata || null };
  });
  ok = ok && await step('authorize', async () => {
    const result = await sdkAuth.auth(provider, opts);
    return { result, client: provider.client, authorization_url: provider.authorizationUrl,
      redirect: provider.redirect, code_verifier_length: provider.verifier ? provider.verifier.length : 0 };
  });
  ok = ok && await step('token', async () => {
    const result = await sdkAuth.auth(provider, { ...opts, authorizationCode: provider.code });
    return { result, tokens: provider.saved };
  });
  if (ok && input.probe_url) await step('probe', () => probe(input.probe_url, provider.saved.access_token));
  const first = ok ? provider.saved : null;
  ok = ok && await step('refresh', async () => {
    if (!first.refresh_token) throw new Error('no refresh_token was issued');
    const result = await sdkAuth.auth(provider, opts);
    return { result, tokens: provider.saved, refreshed: provider.saved.access_token !== first.access_token };
  });
  if (ok && input.probe_url) await step('probe_refreshed', () => probe(input.probe_url, provider.saved.access_token));
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((e) => {
  report.fatal = String(e && e.stack);
  process.stdout.write(`${JSON.stringify(report)}\n`);
});
