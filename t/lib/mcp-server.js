'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// An MCP server for t/099-mcp.t, behind NGINX: the official MCP
// TypeScript SDK's McpServer over its Streamable HTTP transport
// (stateless: a server and a transport per request), on node's http.
// Its one tool, "whoami", answers with the identity that NGINX passed in
// the X-User, X-Client and X-Scopes headers.  The SDK comes from
// MCP_SDK_DIR (emulator/lib/sdk-mcp.js find).
//
// Usage: node mcp-server.js PORT; prints "listening PORT" when ready.

const http = require('node:http');
const path = require('node:path');
const { createRequire } = require('node:module');

const sdkRequire = createRequire(path.join(process.env.MCP_SDK_DIR, 'package.json'));
const { McpServer } = sdkRequire('@modelcontextprotocol/sdk/server/mcp.js');
const { StreamableHTTPServerTransport } = sdkRequire('@modelcontextprotocol/sdk/server/streamableHttp.js');

function server() {
  const s = new McpServer({ name: 'stytch-module-test-server', version: '1.0.0' });
  s.registerTool('whoami', { description: 'the identity NGINX passed' }, async (extra) => {
    const h = (extra.requestInfo && extra.requestInfo.headers) || {};
    const who = { user: h['x-user'] || '', client: h['x-client'] || '', scopes: h['x-scopes'] || '',
      authorization: h.authorization ? 'present' : 'absent' };
    return { content: [{ type: 'text', text: JSON.stringify(who) }] };
  });
  return s;
}

const port = Number(process.argv[2]);

http.createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString('utf8');
  let body;
  try { body = text ? JSON.parse(text) : undefined; } catch (e) { body = undefined; }
  if (req.method !== 'POST') {
    res.writeHead(405, { Allow: 'POST' }).end();
    return;
  }
  const s = server();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on('close', () => { transport.close(); s.close(); });
  await s.connect(transport);
  await transport.handleRequest(req, res, body);
}).listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
