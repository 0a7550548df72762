// stdio.test.mjs: sandbox-mcp as a host built on the official MCP TypeScript SDK sees it, over stdio.
//
// Run by clients_test.go (TestTypeScriptClient) with `node --test`, which provides:
//   SANDBOX_MCP_BIN        the server binary
//   SANDBOX_MCP_ARGS       its flags, a JSON array (the sbx test double's backend, a state dir, a port)
//   SANDBOX_MCP_WORKSPACE  a git repository with one commit, the project folder to sandbox
//   PATH, HOME, FAKECLI_ROOT, FAKECLI_TEMPLATES  the environment of the sbx test double
//
// It checks what a host would trip over: every tool's input and output schema must be valid JSON Schema
// (compiled strictly, formats included), every argument we send must satisfy the input schema, and every
// result must satisfy the output schema: the SDK's Client.callTool validates structuredContent itself,
// and the validator we hand it counts its runs so that a skipped validation cannot pass unnoticed.
// Then it runs a scripted conversation through every tool, the transcript resource and both prompts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';

// The SDK's own copies of ajv and ajv-formats (its dependencies, not ours): resolved from the SDK's
// location, so we validate with exactly the library the SDK validates with.
const sdkRequire = createRequire(createRequire(import.meta.url).resolve('@modelcontextprotocol/sdk/validation/ajv'));
const Ajv = sdkRequire('ajv').default;
const Ajv2020 = sdkRequire('ajv/dist/2020').default;
const addFormats = sdkRequire('ajv-formats').default;

const pkg = JSON.parse(fs.readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const sdkVersion = JSON.parse(fs.readFileSync(new URL('./node_modules/@modelcontextprotocol/sdk/package.json', import.meta.url), 'utf8')).version;
const ajvVersion = JSON.parse(fs.readFileSync(sdkRequire.resolve('ajv/package.json'), 'utf8')).version;

function need(name) {
  const v = process.env[name];
  assert.ok(v, `${name} is not set: run this through clients_test.go (go test -run TestTypeScriptClient .)`);
  return v;
}

// strictAjv compiles schemas as strictly as ajv can: unknown keywords, ambiguous types and malformed
// schemas are errors (the SDK's default instance ignores all three), formats are checked.
function strictAjv(Class) {
  const problems = [];
  const ajv = new Class({
    strict: true,
    allErrors: true,
    validateSchema: true,
    validateFormats: true,
    logger: { log() {}, warn: (m) => problems.push(String(m)), error: (m) => problems.push(String(m)) },
  });
  addFormats(ajv);
  return { ajv, problems };
}

// countingValidator is the client's jsonSchemaValidator: the SDK's ajv provider over a strict ajv,
// counting validations.
function countingValidator() {
  const inner = new AjvJsonSchemaValidator(strictAjv(Ajv).ajv);
  const v = {
    runs: 0,
    getValidator(schema) {
      const fn = inner.getValidator(schema);
      return (input) => {
        v.runs++;
        return fn(input);
      };
    },
  };
  return v;
}

describe(`sandbox-mcp over stdio with @modelcontextprotocol/sdk ${sdkVersion}`, () => {
  const bin = need('SANDBOX_MCP_BIN');
  const args = JSON.parse(need('SANDBOX_MCP_ARGS'));
  const workspace = need('SANDBOX_MCP_WORKSPACE');
  const validator = countingValidator();
  const client = new Client({ name: 'sandbox-mcp-stdio-test', version: '1.0.0' }, { jsonSchemaValidator: validator });
  let transport;
  let stderr = '';
  let negotiated;
  const tools = new Map(); // name → tool
  const inputValidators = new Map(); // name → ajv validate function
  const called = new Set();
  let sandbox, session;
  let failed = false;
  // step is an it() that records a failure, so the server's log is printed for it; the steps are one
  // conversation, so those after a failure are skipped.
  const step = (name, fn) => it(name, async (t) => {
    if (failed) return t.skip('an earlier step failed');
    try {
      await fn(t);
    } catch (e) {
      failed = true;
      throw e;
    }
  });

  // call validates args against the tool's input schema, calls it, and checks that a successful result
  // carries structuredContent that the SDK validated against the output schema.
  async function call(name, args, { expectError = false } = {}) {
    const check = inputValidators.get(name);
    assert.ok(check, `no tool ${name} in tools/list`);
    assert.ok(check(args), `${name}: our arguments ${JSON.stringify(args)} fail its input schema: ${JSON.stringify(check.errors)}`);
    const runs = validator.runs;
    const res = await client.callTool({ name, arguments: args }, undefined, { timeout: 90_000 });
    called.add(name);
    const text = (res.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
    if (expectError) {
      assert.equal(res.isError, true, `${name} succeeded, want an error result: ${text}`);
      return { text };
    }
    assert.ok(!res.isError, `${name}(${JSON.stringify(args)}) failed: ${text}`);
    assert.ok(res.structuredContent && typeof res.structuredContent === 'object', `${name}: no structuredContent`);
    assert.equal(validator.runs, runs + 1, `${name}: the SDK did not validate structuredContent against the output schema`);
    assert.ok(text.length > 0, `${name}: no text content`);
    return { out: res.structuredContent, text };
  }

  // untilStatus reads get_events (waiting server-side) from cursor until the session has status want.
  async function untilStatus(cursor, want) {
    const seen = [];
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { out: page } = await call('get_events', { sandbox, session, cursor, wait_seconds: 10 });
      seen.push(...page.events);
      cursor = page.next_cursor;
      if (page.status === want && !page.more) return { page, seen };
      assert.ok(Date.now() < deadline, `status ${page.status} after 60 s, want ${want}; events: ${JSON.stringify(seen.map((e) => e.kind))}`);
    }
  }

  before(async () => {
    const env = { ...getDefaultEnvironment() };
    for (const [k, v] of Object.entries(process.env)) if (k.startsWith('FAKECLI_')) env[k] = v;
    transport = new StdioClientTransport({ command: bin, args, env, stderr: 'pipe' });
    transport.stderr.on('data', (b) => (stderr += b)); // drained, so the server never blocks on its logs
    // StdioClientTransport has no setProtocolVersion; Client.connect calls one when present.
    transport.setProtocolVersion = (v) => (negotiated = v);
    await client.connect(transport, { timeout: 10_000 });
  });

  after(async () => {
    if (sandbox) await client.callTool({ name: 'destroy_sandbox', arguments: { name: sandbox } }).catch(() => {});
    await client.close();
    // The server's log: in the output when anything failed, so the failure can be understood.
    if (failed) console.error(`server stderr:\n${stderr}`);
  });

  step('initializes with a protocol version the SDK supports', (t) => {
    t.diagnostic(`@modelcontextprotocol/sdk ${sdkVersion} (ajv ${ajvVersion}); protocol ${negotiated} (SDK latest ${LATEST_PROTOCOL_VERSION}); node ${process.version}`);
    assert.equal(sdkVersion, pkg.dependencies['@modelcontextprotocol/sdk'], 'installed SDK differs from the pin: run npm ci --prefix clients');
    assert.ok(SUPPORTED_PROTOCOL_VERSIONS.includes(negotiated), `negotiated ${negotiated}`);
    assert.equal(negotiated, LATEST_PROTOCOL_VERSION);
    const info = client.getServerVersion();
    assert.equal(info.name, 'sandbox-mcp');
    const caps = client.getServerCapabilities();
    assert.ok(caps.tools && caps.prompts && caps.resources, `capabilities ${JSON.stringify(caps)}`);
    assert.ok(client.getInstructions()?.includes('create_sandbox'), 'instructions mention create_sandbox');
  });

  step('lists tools whose input and output schemas are valid, strict JSON Schema', async (t) => {
    const res = await client.listTools(); // also caches the SDK's output validators
    const problems = [];
    for (const tool of res.tools) {
      tools.set(tool.name, tool);
      for (const key of ['inputSchema', 'outputSchema']) {
        const schema = tool[key];
        if (!schema) {
          problems.push(`${tool.name}: no ${key}`);
          continue;
        }
        if (schema.type !== 'object') problems.push(`${tool.name}.${key}: type ${schema.type}, want object`);
        // Draft-07 is what the SDK's ajv speaks; 2020-12 is the dialect MCP 2025-11-25 names as default.
        for (const [dialect, Class] of [['draft-07', Ajv], ['2020-12', Ajv2020]]) {
          const { ajv, problems: logged } = strictAjv(Class);
          if (!ajv.validateSchema(schema)) problems.push(`${tool.name}.${key} (${dialect}): not a valid schema: ${ajv.errorsText(ajv.errors)}`);
          try {
            const fn = ajv.compile(schema);
            if (key === 'inputSchema' && dialect === 'draft-07') inputValidators.set(tool.name, fn);
          } catch (e) {
            problems.push(`${tool.name}.${key} (${dialect}): ${e.message}`);
          }
          for (const m of logged) problems.push(`${tool.name}.${key} (${dialect}): ${m}`);
        }
      }
      assert.ok(tool.description?.trim(), `${tool.name}: no description`);
      assert.equal(typeof tool.annotations?.readOnlyHint, 'boolean', `${tool.name}: no readOnlyHint`);
    }
    assert.deepEqual(problems, []);
    for (const name of ['create_sandbox', 'create_session', 'send_message', 'get_events', 'respond_permission',
      'cancel_turn', 'list_sandboxes', 'list_sessions', 'get_diff', 'destroy_sandbox']) {
      assert.ok(tools.has(name), `tools/list lacks ${name}: ${[...tools.keys()]}`);
    }
    t.diagnostic(`${tools.size} tools: ${[...tools.keys()].join(', ')}`);
  });

  step('rejects arguments its schemas forbid, client-side', () => {
    // The input schemas are tight enough for a host to catch mistakes before calling.
    assert.equal(inputValidators.get('create_session')({ sandbox: 'x', agent: 'gpt' }), false);
    assert.equal(inputValidators.get('get_events')({ sandbox: 'x', session: 'y', wait_seconds: 99 }), false);
    assert.equal(inputValidators.get('destroy_sandbox')({ name: 'x', force: true }), false);
    assert.equal(inputValidators.get('create_sandbox')({}), false);
  });

  step('creates a sandbox and a session', async () => {
    const { out: sb, text } = await call('create_sandbox', { workspace });
    assert.equal(sb.workspace, workspace);
    assert.equal(sb.backend, 'sbx');
    assert.match(text, /create_session/);
    sandbox = sb.name;
    const { out: s } = await call('create_session', { sandbox, agent: 'mock' });
    assert.equal(s.status, 'idle');
    assert.equal(s.cwd, workspace);
    session = s.name;
  });

  step('runs a turn that asks for permission, answered with allow', async () => {
    const message = 'say Hello from the sandbox; perm run the tests';
    const { out: turn } = await call('send_message', { sandbox, session, message });
    assert.ok(['running', 'waiting_permission'].includes(turn.status), `send_message status ${turn.status}`);
    assert.equal(turn.done, false);

    const first = await untilStatus(turn.cursor, 'waiting_permission');
    assert.equal(first.page.pending_permissions?.length, 1, JSON.stringify(first.page));
    const req = first.page.pending_permissions[0].permission;
    assert.ok(req.options.some((o) => o.id === 'allow'), JSON.stringify(req.options));
    const { out: perm } = await call('respond_permission', { sandbox, session, request_id: req.request_id, option: 'allow' });
    assert.equal(perm.outcome, 'allow');

    const rest = await untilStatus(first.page.next_cursor, 'idle');
    assert.equal(rest.page.last_stop_reason, 'end_turn');
    const kinds = [...first.seen, ...rest.seen].map((e) => e.kind);
    assert.deepEqual(kinds, ['user_message', 'agent_message', 'tool_call', 'permission_request', 'permission_response',
      'tool_call_update', 'turn_end']);
    const said = [...first.seen].find((e) => e.kind === 'agent_message');
    assert.equal(said.text, 'Hello from the sandbox');
  });

  step('lists sandboxes and sessions', async () => {
    const { out: list } = await call('list_sandboxes', {});
    const mine = list.sandboxes.find((s) => s.name === sandbox);
    assert.ok(mine?.ours, JSON.stringify(list));
    assert.equal(mine.sessions?.[0]?.name, session);
    const { out: sessions } = await call('list_sessions', { sandbox });
    assert.equal(sessions.sessions.length, 1);
    assert.equal(sessions.sessions[0].status, 'idle');
    assert.equal(sessions.sessions[0].turns, 1);
  });

  step('refuses to cancel a turn when none runs, with a clear message', async () => {
    const { text } = await call('cancel_turn', { sandbox, session }, { expectError: true });
    assert.match(text, /no running turn/);
    assert.match(text, new RegExp(session));
    assert.ok(!text.includes('\n'), `one line: ${text}`);
  });

  step('shows the workspace diff', async () => {
    const { out: d } = await call('get_diff', { sandbox });
    assert.equal(d.workspace, workspace);
    assert.equal(d.truncated, false);
  });

  step('refuses to land a sandbox with nothing to land, with a clear message', async () => {
    const { text } = await call('land_sandbox', { sandbox }, { expectError: true });
    assert.match(text, /no work to land|isolation direct/);
    assert.ok(!text.includes('\n'), `one line: ${text}`);
  });

  step('reads the session transcript resource', async () => {
    const uri = `sandbox-mcp://sandboxes/${sandbox}/sessions/${session}/transcript`;
    const templates = await client.listResourceTemplates();
    assert.ok(templates.resourceTemplates.some((t) => t.uriTemplate === 'sandbox-mcp://sandboxes/{sandbox}/sessions/{session}/transcript'));
    const res = await client.readResource({ uri });
    assert.equal(res.contents.length, 1);
    const { text, mimeType } = res.contents[0];
    assert.equal(mimeType, 'text/markdown');
    for (const want of [`# Session ${session} in sandbox ${sandbox}`, 'say Hello from the sandbox; perm run the tests',
      '**Agent:**\n\n```text\nHello from the sandbox\n```', 'run the tests', 'ended: end_turn']) {
      assert.ok(text.includes(want), `transcript lacks ${JSON.stringify(want)}:\n${text}`);
    }
    const list = await client.readResource({ uri: 'sandbox-mcp://sandboxes' });
    assert.ok(list.contents[0].text.includes(uri), list.contents[0].text);
  });

  step('gets both prompts', async () => {
    const { prompts } = await client.listPrompts();
    assert.deepEqual(prompts.map((p) => p.name).sort(), ['delegate_task', 'fan_out_task', 'review_sandbox_work']);
    const task = 'Add a --verbose flag';
    const delegate = await client.getPrompt({ name: 'delegate_task', arguments: { task, workspace } });
    assert.equal(delegate.messages.length, 1);
    assert.equal(delegate.messages[0].role, 'user');
    assert.ok(delegate.messages[0].content.text.includes(`Task: ${task}`));
    assert.ok(delegate.messages[0].content.text.includes(`workspace="${workspace}"`));

    const review = await client.getPrompt({ name: 'review_sandbox_work', arguments: { sandbox, session } });
    const text = review.messages[0].content.text;
    for (const want of [`sandbox ${sandbox} (session ${session})`, '(no changes to tracked files)', '```text\nHello from the sandbox\n```']) {
      assert.ok(text.includes(want), `review prompt lacks ${JSON.stringify(want)}:\n${text}`);
    }
  });

  step('destroys the sandbox', async () => {
    const { out: d } = await call('destroy_sandbox', { name: sandbox });
    assert.equal(d.destroyed, true);
    assert.equal(d.sessions_closed, 1);
    sandbox = undefined;
    assert.deepEqual([...tools.keys()].filter((n) => !called.has(n)), [], 'every tool was called');
  });
});
