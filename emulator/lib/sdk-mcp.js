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
// call (the tool's result), and responses: the status and
// WWW-Authenticate of each answer of mcp_url.
//
// "node sdk-mcp.js find" prints {dir, version} of the SDK that
// `scripts/install-deps test` installed (emulator/lib/test-clients.js),
// or {missing: why}.

const path = require('node:path');
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

  saveTokens(t) { this.saved = t; }

  saveCodeVerifier(v) { this.verifier = v; }

  codeVerifier() { return this.verifier; }

  // The browser's part: follow the authorization URL; the emulator
  // answers with a redirect to redirectUrl carrying the code (or error).
  async redirectToAuthorization(url) {
    const u = new URL(url);
    if (this.cfg.emulator_user) u.searchParams.set('emulator_user', this.cfg.emulator_user);
    this.authorizationUrl = u.href;
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
      report.responses.push({ method: (init && init.method) || 'GET', status: r.status,
        www_authenticate: r.headers.get('www-authenticate') });
    }
    return r;
  };
  const transport = () => new StreamableHTTPClientTransport(url, { authProvider: provider, fetch: recording });
  let first = transport();
  let ok = await step('connect', async () => {
    const client = new Client({ name: 'stytch-module-test', version: '1.0.0' });
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
  ok = ok && await step('call', async () => {
    const client = new Client({ name: 'stytch-module-test', version: '1.0.0' });
    await client.connect(transport());
    const result = await client.callTool({ name: input.tool, arguments: input.tool_args || {} });
    await client.close();
    return result;
  });
  process.stdout.write(`${JSON.stringify(report)}\n`);
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
