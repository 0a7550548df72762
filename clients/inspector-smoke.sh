#!/usr/bin/env bash
# inspector-smoke.sh: the MCP Inspector's CLI mode (@modelcontextprotocol/inspector-cli, pinned in
# package.json) against the sandbox-mcp binary over stdio: tools/list, then tools/call list_sandboxes.
# It fails unless both exit 0, the list names create_sandbox, and the call returns structured content.
#
# Run by clients_test.go (TestInspectorCLI), which sets SANDBOX_MCP_BIN (the server), SANDBOX_MCP_ARGS (its
# flags as a JSON array) and the sbx test double's environment (PATH, HOME, FAKECLI_*). The Inspector
# hands the server its whole environment.
#
# By hand: npm ci --prefix clients, then
#   SANDBOX_MCP_BIN=$PWD/sandbox-mcp SANDBOX_MCP_ARGS='["--state-dir=/tmp/s"]' bash clients/inspector-smoke.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=${SANDBOX_MCP_BIN:?set SANDBOX_MCP_BIN to the sandbox-mcp binary}

# Server flags, one per line: node decodes the JSON array (flags hold no newlines).
server_args=()
while IFS= read -r a; do
  # The Inspector CLI parses the whole command line itself (commander, unknown options passed through) and
  # keeps the options it knows, --log-level among them, for itself: `--log-level=debug` would set the
  # Inspector's level and never reach the server. Hand the server its level through its environment.
  case $a in
  --log-level=*) export SANDBOX_MCP_LOG_LEVEL=${a#--log-level=} ;;
  *) server_args+=("$a") ;;
  esac
done < <(node -e 'for (const a of JSON.parse(process.env.SANDBOX_MCP_ARGS || "[]")) console.log(a)')

# npx asks the registry whether npm itself is outdated, once a day per HOME; the tests' HOME is always new.
export npm_config_update_notifier=false

inspector() {
  # --no: never download; the Inspector must come from clients/node_modules (npm ci --prefix clients).
  # The Inspector CLI reads its own package.json from ../package.json relative to the working directory
  # (a bug: it means its module's folder), so it runs from its build folder.
  (cd "$here/node_modules/@modelcontextprotocol/inspector-cli/build" &&
    npx --no --prefix "$here" mcp-inspector-cli --cli "$bin" "${server_args[@]}" "$@")
}

fail() {
  printf 'inspector-smoke: %s\n' "$*" >&2
  exit 1
}

echo "inspector-smoke: @modelcontextprotocol/inspector-cli $(node -p 'require(process.argv[1]).version' "$here/node_modules/@modelcontextprotocol/inspector-cli/package.json")"

# The outputs are printed only when they are wrong: tools/list alone is 30 kB.
out=$(inspector --method tools/list) || fail "tools/list exited $?"
node -e '
  const r = JSON.parse(process.argv[1]);
  const names = r.tools.map((t) => t.name);
  if (!names.includes("create_sandbox")) { console.error("tools/list lacks create_sandbox:", names); process.exit(1); }
  const noOut = r.tools.filter((t) => !t.outputSchema).map((t) => t.name);
  if (noOut.length) { console.error("tools without an outputSchema:", noOut); process.exit(1); }
  console.log(`inspector-smoke: tools/list: ${names.length} tools: ${names.join(", ")}`);
' "$out" || fail "tools/list output is not what was expected: $out"

out=$(inspector --method tools/call --tool-name list_sandboxes) || fail "tools/call list_sandboxes exited $?"
node -e '
  const r = JSON.parse(process.argv[1]);
  if (r.isError) { console.error("list_sandboxes returned an error:", r.content); process.exit(1); }
  if (!Array.isArray(r.structuredContent?.sandboxes)) { console.error("no structuredContent.sandboxes"); process.exit(1); }
  if (!r.content?.some((c) => c.type === "text" && c.text)) { console.error("no text content"); process.exit(1); }
  console.log(`inspector-smoke: tools/call list_sandboxes: ${r.structuredContent.sandboxes.length} sandbox(es)`);
' "$out" || fail "tools/call list_sandboxes output is not what was expected: $out"

echo "inspector-smoke: ok"
