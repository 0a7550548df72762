// http.test.mjs: sandbox-mcp over Streamable HTTP (--http), as a host built on the official MCP TypeScript
// SDK sees it: bearer-token auth, the same tools with input and output schemas, a tool call whose
// structuredContent the SDK validates, and a wrong or missing token refused.
//
// Run by clients_test.go (TestTypeScriptClient) with `node --test`, which provides:
//   SANDBOX_MCP_BIN   the server binary (without it, this test builds one with `go build` into a temp dir)
//   SANDBOX_MCP_ARGS  its flags, a JSON array (without it: a state dir of its own)
//   PATH, HOME, FAKECLI_*  the environment of the sbx test double, passed on to the server
// It can also run on its own: node --test clients/http.test.mjs
// The test starts the server itself, on 127.0.0.1 port 0, and learns the port from its JSON log.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const sdkVersion = JSON.parse(fs.readFileSync(new URL('./node_modules/@modelcontextprotocol/sdk/package.json', import.meta.url), 'utf8')).version;
const repoRoot = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-mcp-http-'));
const token = randomBytes(32).toString('hex');

// serverBinary is SANDBOX_MCP_BIN, or a fresh build of the repository's server.
function serverBinary() {
  if (process.env.SANDBOX_MCP_BIN) return process.env.SANDBOX_MCP_BIN;
  const bin = path.join(tmp, 'sandbox-mcp');
  execFileSync('go', ['build', '-o', bin, '.'], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
  return bin;
}

const bin = serverBinary();
// A binary without --http cannot be tested here: skipped locally, a failure in CI.
const help = spawnSync(bin, ['--help'], { encoding: 'utf8' });
const noHTTP = /-http\b/.test(help.stderr + help.stdout) ? false : `${bin} has no --http flag`;
if (noHTTP && process.env.CI === 'true') throw new Error(noHTTP);

// connect returns a connected client that sends Authorization: Bearer <bearer>; it throws what the SDK
// throws when the server refuses.
async function connect(url, bearer) {
  const requestInit = bearer === undefined ? {} : { headers: { Authorization: `Bearer ${bearer}` } };
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit });
  const client = new Client({ name: 'sandbox-mcp-http-test', version: '1.0.0' });
  await client.connect(transport, { timeout: 10_000 });
  return { client, transport };
}

describe(`sandbox-mcp over Streamable HTTP with @modelcontextprotocol/sdk ${sdkVersion}`, { skip: noHTTP }, () => {
  let server; // the child process
  let stderr = '';
  let url;
  let client, transport;
  let failed = false;
  // step is an it() that records a failure, so the server's log is printed for it.
  const step = (name, fn, opts = {}) => it(name, opts, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      failed = true;
      throw e;
    }
  });

  before(async () => {
    const args = process.env.SANDBOX_MCP_ARGS ? JSON.parse(process.env.SANDBOX_MCP_ARGS) : ['--state-dir', path.join(tmp, 'state')];
    const env = { PATH: process.env.PATH, HOME: process.env.HOME ?? tmp, SANDBOX_MCP_HTTP_TOKEN: token };
    for (const [k, v] of Object.entries(process.env)) if (k.startsWith('FAKECLI_')) env[k] = v;
    server = spawn(bin, [...args, '--http', '127.0.0.1:0', '--log-format', 'json'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "serving MCP over Streamable HTTP" log line within 15 s:\n${stderr}`)), 15_000);
      server.stderr.setEncoding('utf8');
      server.stderr.on('data', (chunk) => {
        stderr += chunk;
        for (const line of stderr.split('\n')) {
          try {
            const rec = JSON.parse(line);
            if (rec.msg === 'serving MCP over Streamable HTTP') {
              clearTimeout(timer);
              resolve(rec.url);
            }
          } catch {} // a partial line, or not JSON
        }
      });
      server.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code} before serving:\n${stderr}`));
      });
    });
    ({ client, transport } = await connect(url, token));
  });

  after(async () => {
    await client?.close().catch(() => {});
    if (server && server.exitCode === null) server.kill('SIGKILL'); // only our own child, by its handle
    if (failed) console.error(`server stderr:\n${stderr}`);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  step('initializes over HTTP with the bearer token', (t) => {
    t.diagnostic(`${url}; protocol ${transport.protocolVersion}; node ${process.version}`);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    assert.equal(client.getServerVersion()?.name, 'sandbox-mcp');
    const caps = client.getServerCapabilities();
    assert.ok(caps.tools && caps.prompts && caps.resources, `capabilities ${JSON.stringify(caps)}`);
    assert.ok(transport.protocolVersion, 'no protocol version negotiated');
  });

  step('lists tools, each with an input and an output schema', async (t) => {
    const { tools } = await client.listTools();
    const problems = [];
    for (const tool of tools) {
      for (const key of ['inputSchema', 'outputSchema']) {
        if (tool[key]?.type !== 'object') problems.push(`${tool.name}: ${key} ${JSON.stringify(tool[key])}, want an object schema`);
      }
    }
    assert.deepEqual(problems, []);
    const names = tools.map((t) => t.name);
    for (const want of ['create_sandbox', 'create_session', 'send_message', 'get_events', 'list_sandboxes', 'destroy_sandbox']) {
      assert.ok(names.includes(want), `tools/list lacks ${want}: ${names}`);
    }
    t.diagnostic(`${tools.length} tools`);
  });

  step('calls list_sandboxes; the SDK validates its structuredContent', async () => {
    const res = await client.callTool({ name: 'list_sandboxes', arguments: {} });
    const text = (res.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
    assert.ok(!res.isError, `list_sandboxes failed: ${text}`);
    assert.ok(Array.isArray(res.structuredContent?.sandboxes), JSON.stringify(res.structuredContent));
  });

  step('lists prompts and resource templates', async () => {
    const { prompts } = await client.listPrompts();
    assert.ok(prompts.some((p) => p.name === 'delegate_task'), JSON.stringify(prompts));
    const { resourceTemplates } = await client.listResourceTemplates();
    assert.ok(resourceTemplates.length > 0, 'no resource templates');
  });

  // With the sbx test double (clients_test.go), one short conversation: long polls of get_events and a
  // send_message whose turn runs on after it returns, over HTTP rather than a pipe.
  const workspace = process.env.SANDBOX_MCP_WORKSPACE;
  step('runs a turn: create_sandbox, create_session, send_message, get_events until idle', async () => {
    const call = async (name, args) => {
      const res = await client.callTool({ name, arguments: args }, undefined, { timeout: 90_000 });
      const text = (res.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
      assert.ok(!res.isError, `${name}(${JSON.stringify(args)}) failed: ${text}`);
      return res.structuredContent;
    };
    const sb = await call('create_sandbox', { workspace });
    try {
      const s = await call('create_session', { sandbox: sb.name, agent: 'mock' });
      const turn = await call('send_message', { sandbox: sb.name, session: s.name, message: 'say Hello over HTTP' });
      let cursor = turn.cursor;
      const said = [];
      const deadline = Date.now() + 60_000;
      for (;;) {
        const page = await call('get_events', { sandbox: sb.name, session: s.name, cursor, wait_seconds: 10 });
        said.push(...page.events.filter((e) => e.kind === 'agent_message').map((e) => e.text));
        cursor = page.next_cursor;
        if (page.status === 'idle' && !page.more) break;
        assert.ok(Date.now() < deadline, `status ${page.status} after 60 s`);
      }
      assert.deepEqual(said, ['Hello over HTTP']);
    } finally {
      await call('destroy_sandbox', { name: sb.name });
    }
  }, { skip: !workspace && 'SANDBOX_MCP_WORKSPACE is not set' });

  for (const [name, bearer] of [['a wrong token', `${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}`], ['no token', undefined]]) {
    step(`refuses ${name}: the SDK throws a 401`, async () => {
      await assert.rejects(connect(url, bearer), (e) => {
        assert.ok(e instanceof StreamableHTTPError, `${e?.constructor?.name}: ${e?.message}`);
        assert.equal(e.code, 401, e.message);
        return true;
      });
    });
  }

  step('answers 401 with a Bearer challenge and a JSON body', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', Authorization: 'Bearer nope' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /);
    const body = await res.json();
    assert.equal(body.error, 'invalid_token');
    assert.ok(!stderr.includes(token), 'the token is in the server log');
  });

  step('stops cleanly on SIGTERM', async () => {
    await client.close();
    client = undefined;
    const exited = new Promise((resolve) => server.once('exit', (code, signal) => resolve({ code, signal })));
    server.kill('SIGTERM');
    let timer;
    const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('still running 10 s after SIGTERM')), 10_000)));
    const { code, signal } = await Promise.race([exited, timeout]).finally(() => clearTimeout(timer));
    assert.equal(code, 0, `exit code ${code}, signal ${signal}`);
    assert.ok(!stderr.includes(token), 'the token is in the server log');
  });
});
