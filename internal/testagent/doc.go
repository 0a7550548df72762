// Package testagent implements a deterministic, offline scripted ACP agent
// that tests use in place of a real coding agent. The real sandbox-agent
// server spawns it (see WriteLauncher and Build) and talks newline-delimited
// JSON-RPC 2.0 to it over stdio.
//
// Protocol: initialize, session/new (sessions "sess-<n>", modes normal/plan,
// models mock/mock-fast), session/load, session/set_mode (emits current_mode_update),
// session/set_model, session/prompt (runs in its own goroutine) and the
// session/cancel notification. Unknown methods get -32601.
//
// Every prompt first emits a user_message_chunk with the prompt text (text
// blocks joined with "\n"). The text is then parsed as a script: commands
// separated by ';', each trimmed, empty ones skipped; a command is a word and
// its argument text. If no segment starts with a command word, the default
// scenario runs ("You said: <text>" as 3 agent_message_chunks). Otherwise every
// segment must be valid, or the prompt fails with -32602 "script: ...".
//
//	say <text>            agent_message_chunks of at most 8 runes each
//	think <text>          one agent_thought_chunk
//	plan <a>|<b>|...      plan update, entries priority "medium", status "pending"
//	tool [title]          tool_call (kind edit, pending), tool_call_update
//	                      in_progress, then completed with text content "ok"
//	write <rel> [text]    writes <cwd>/<rel>; tool_call "Write <rel>" (edit) then
//	                      completed ("wrote N bytes") or failed (absolute path,
//	                      ".." component or I/O error; the turn continues)
//	perm [title]          tool_call (kind execute), then session/request_permission
//	                      id "perm-<n>" (options allow/always/reject); allow or
//	                      always -> completed; reject, unknown option or an error
//	                      reply -> failed; outcome cancelled, session/cancel or
//	                      stdin EOF -> failed and the turn ends "cancelled"
//	perm-edit <rel>       like perm, for a tool call of kind edit whose location
//	                      is <cwd>/<rel> (what permission policies decide on)
//	calls <n>             n tool_call updates titled t1..tn (kind other): n
//	                      distinct events, for paging tests
//	sleep <ms>            interruptible wait
//	events <n>            n agent_message_chunks "e1 ", "e2 ", ...
//	stream <n> <ms>       n chunks "s1 ", "s2 ", ... each after an interruptible
//	                      wait of ms
//	stop <reason>         end now with stopReason (end_turn, max_tokens,
//	                      max_turn_requests, refusal, cancelled)
//	fail [message]        end now with JSON-RPC error -32603 (default message
//	                      "scripted failure")
//	exit <code>           exit the process with code 0..255, no response
//	echo-env <NAME>       one agent_message_chunk "NAME=<value>" or "NAME=unset"
//	usage <used> <size> [cost]
//	                      usage_update: context tokens used and window size,
//	                      and the session's cumulative cost in USD when given
//	tokens <in> <out> [cache-read [cache-write]]
//	                      the turn's response carries usage {inputTokens,
//	                      outputTokens, cachedReadTokens, cachedWriteTokens,
//	                      totalTokens (their sum)}
//	history               one agent_message_chunk "history: <n> earlier
//	                      prompt(s): <p1> | <p2> ..." from the session's history
//	                      (also after session/load)
//	mcp                   one agent_message_chunk "mcp: <JSON>", the mcpServers
//	                      the session was opened (or loaded) with
//
// Sessions are loadable (initialize advertises loadSession unless
// SCRIPTED_AGENT_LOAD_SESSION=0): every session/update a session emits is
// kept as its history, and session/load replays it as session/update
// notifications before answering. With a state directory (StateDir; the
// scripted-agent command uses $SCRIPTED_AGENT_STATE or $HOME/.scripted-agent)
// the history is also appended to <dir>/<sessionId>.jsonl, so a session
// survives the agent process (a sandbox-agent restart, a stopped sandbox).
// Session ids then skip ids that have a history file already.
//
//	spell <n> <NAME> [ms] "NAME=<value>" (or "NAME=unset") as agent_message_chunks
//	                      of n runes each, ms apart: a key spoken in pieces
//	spell-think <n> <NAME> [ms]  the same as agent_thought_chunks
//
// Hostile output, for bound tests. Filler text mixes characters JSON escapes
// (quotes, <, &, control characters, newlines) with multi-byte ones, cut on a
// character boundary to the size asked (bytes):
//
//	say-big <bytes>       one agent_message_chunk of filler
//	perms <n> <title> <options> <name>
//	                      n permission requests at once (ids "perm-<k>"), each
//	                      for a tool call titled with <title> bytes of filler and
//	                      offering <options> options (ids "o1".., kind
//	                      allow_once) named with <name> bytes of filler; waits
//	                      for every answer, or ends "cancelled" on session/cancel
//	plan-big <n> <bytes>  a plan of n entries of filler
//	fail-big <bytes>      end now with JSON-RPC error -32603 and a filler message
//
// Tool call ids ("call-<n>"), permission ids ("perm-<n>") and session ids
// count from 1 per process. A session/cancel makes the running prompt end
// with stopReason "cancelled" at its next step.
package testagent
