package tools

import (
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/gitwork"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// The tools return the domain's own types (manager's results, live.Page, events.Event, …) as their
// structured content, and reflect their output schemas from them. What a model reads about those fields
// is the tools' to say, though: it names tools and arguments ("pass it to get_events", "wait_seconds"),
// which the domain does not know. So the domain's structs carry json tags only, and the words are here,
// keyed by type and Go field name: descriptions through the reflector's LookupComment, enums by addEnums.
// The tools' own input structs keep their words in their tags, beside the arguments they describe.

// describe is the reflector's LookupComment: the description of t's field ("" for none, and for t itself).
func describe(t reflect.Type, field string) string { return descriptions[t][field] }

// enums are the values a domain string field takes, from the domain's own lists where it has them.
var enums = map[reflect.Type]map[string][]string{
	reflect.TypeFor[state.MCPServer]():    {"Type": {"stdio", "http", "sse"}},
	reflect.TypeFor[manager.TurnResult](): {"Status": events.Statuses},
	reflect.TypeFor[live.Page]():          {"Status": events.Statuses},
	reflect.TypeFor[events.Event]():       {"Kind": events.Kinds},
	reflect.TypeFor[events.BudgetHit]():   {"Limit": {events.LimitTokens, events.LimitCost, events.LimitTurnTime}},
	reflect.TypeFor[manager.SessionEntry](): {
		"Status":       events.Statuses,
		"ContinueWith": {manager.ContinuedLoad, manager.ContinuedSummary},
	},
}

// addEnums sets the enum of every field that enums lists, at any depth of s, the schema reflected from t.
// It is a walk after the reflection because the reflector has a hook for a field's description but none
// for its enum; it names properties as encoding/json (and the reflector) do.
func addEnums(s *jsonschema.Schema, t reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if s.Items != nil {
			addEnums(s.Items, t.Elem())
		}
	case reflect.Map:
		if s.AdditionalProperties != nil {
			addEnums(s.AdditionalProperties, t.Elem())
		}
	case reflect.Struct:
		if s.Properties == nil { // time.Time: a string
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Anonymous && name == "" {
				addEnums(s, f.Type) // an embedded struct's fields are the outer object's
				continue
			}
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			p, ok := s.Properties.Get(name)
			if !ok {
				continue
			}
			if values, ok := enums[t][f.Name]; ok {
				p.Enum = make([]any, len(values))
				for i, v := range values {
					p.Enum[i] = v
				}
			}
			addEnums(p, f.Type)
		}
	}
}

// descriptions are the domain's fields' descriptions, grouped by the tool that first shows them.
var descriptions = map[reflect.Type]map[string]string{
	// create_sandbox
	reflect.TypeFor[manager.SandboxResult](): {
		"Name":         "The sandbox name to pass to the other tools.",
		"Backend":      "Backend that runs it: sbx, docker-sandbox or docker.",
		"Workspace":    "Host folder mounted at the same path inside the sandbox.",
		"Status":       "running or stopped, as the backend reports it.",
		"AgentVersion": "sandbox-agent version found inside the sandbox.",
		"Reused":       "True when an existing sandbox with this name and workspace was returned.",
		"Isolation":    "How the sandbox is isolated from your folder: mode clone (its own clone and branch) or direct.",
		"Setup":        "The long steps this call took, and how long each: what took the time.",
		"SbxMCP":       "sbx only: the operator's sbx MCP servers on this sandbox's MCP gateway, as attached by this server.",
		"Warning":      "Something to look at although the sandbox is ready, e.g. a sandbox-agent version sandbox-mcp is not verified with.",
	},
	reflect.TypeFor[manager.IsolationInfo](): {
		"Mode":      "clone: the sandbox works on a private clone, on its own branch; direct: it works in your folder itself.",
		"Transport": "How the clone reaches the sandbox: mount (a server-owned clone), bundle (copied in, no host folder mounted) or sbx (sbx --clone).",
		"Branch":    "The sandbox's branch; land_sandbox brings it into your repository.",
		"Base":      "The commit the clone starts from.",
		"Note":      "What the caller should know, e.g. uncommitted changes that were not included.",
	},
	reflect.TypeFor[manager.Step](): {
		"What":    "What was done.",
		"Seconds": "How long it took.",
	},

	// create_session (its budget and mcp_servers arguments too)
	reflect.TypeFor[manager.SessionResult](): {
		"Sandbox":   "Sandbox the session runs in.",
		"Name":      "Session name to pass to send_message and get_events.",
		"Agent":     "The coding agent.",
		"Cwd":       "The agent's working directory inside the sandbox.",
		"Status":    "Session status.",
		"AgentInfo": "What the agent reported about itself (name, version).",
		"Modes":     "Current and available modes, as the agent reported them.",
		"Models":    "Current and available models, as the agent reported them.",
		"Budget":    "The limits each turn runs under.",
		"Continued": "How a continued session got its context back: session/load (the agent reloaded its own history) or summary (a new agent session primed with a summary of the transcript).",
		"Forked":    "The session whose context this one was primed with.",
		"Turn":      "The turn that primes the agent with a summary, when one was sent: follow it with get_events.",
		"Setup":     "The long steps this call took, and how long each (an agent's first install).",
	},
	reflect.TypeFor[state.Budget](): {
		"MaxTokens":      "Most tokens one turn may use: its token total as the agent reports it, or while it runs the growth of the agent's context window.",
		"MaxCostUSD":     "Most one turn may cost, in the agent's reported currency (USD for the agents we know).",
		"MaxTurnSeconds": "Longest wall time of one turn, in seconds.",
	},
	reflect.TypeFor[state.MCPServer](): {
		"Name":    "Server name (letters, digits, '.', '_' or '-').",
		"Type":    "stdio (default): a command run inside the sandbox; http or sse: a URL the sandbox can reach.",
		"Command": "For stdio: the command inside the sandbox (a name on its PATH or an absolute path).",
		"Args":    "For stdio: its arguments. No secrets here: argv is visible to every process.",
		"Env":     "For stdio: environment variables. A secret is written as ${NAME}, NAME one of the server's allowed secret variables.",
		"URL":     "For http and sse: the server's URL, without credentials.",
		"Headers": "For http and sse: request headers; a secret is written as ${NAME}, e.g. Authorization: Bearer ${GITHUB_TOKEN}.",
	},

	// send_message
	reflect.TypeFor[manager.TurnResult](): {
		"Sandbox":    "Sandbox name.",
		"Session":    "Session name.",
		"TurnID":     "Id of the turn this message started.",
		"Status":     "Session status now: running while the agent works, idle once the turn ended.",
		"Cursor":     "Pass to get_events to read this turn's events from its start.",
		"Done":       "True when the turn ended within wait_seconds.",
		"StopReason": "How the turn ended, when done.",
		"Error":      "Why the turn failed, when it did.",
		"FinalText":  "The agent's text in this turn, when done.",
		"Resumed":    "Set when the session had been interrupted (its sandbox stopped or sandbox-agent died) and was continued before this message: how.",
	},

	// get_events
	reflect.TypeFor[live.Page](): {
		"Sandbox":     "Sandbox name.",
		"Session":     "Session name.",
		"Status":      "Session status: idle (ready for send_message), running, waiting_permission (answer with respond_permission), ended or failed.",
		"Turn":        "The running turn's id.",
		"Events":      "Events after the cursor, oldest first.",
		"NextCursor":  "Pass as cursor to get the events that follow.",
		"More":        "True when more events are already waiting after next_cursor.",
		"Truncated":   "True when the page was cut to stay within the output limit (more then follow).",
		"Pending":     "Permission requests waiting for respond_permission (at most 5; answer them and read again for the rest).",
		"PendingMore": "How many more permission requests wait beyond those listed.",
		"LastStop":    "How the last turn ended.",
		"LastError":   "Why the last turn or the session failed.",
		"Mode":        "The agent's current mode, as it last reported it.",
		"Model":       "The agent's current model, as it last reported it.",
	},
	reflect.TypeFor[events.Event](): {
		"Seq":        "Log position of this event (of its last chunk when merged); pass it as cursor to read what follows.",
		"FirstSeq":   "For merged text: the log position of the first chunk.",
		"Time":       "When the server recorded it.",
		"Kind":       "What happened.",
		"Turn":       "Turn id, on user_message and turn_end.",
		"Text":       "Message, thought or mode text (chunks merged); for session_info the session's title.",
		"ToolCall":   "The tool call, for tool_call, tool_call_update and permission_request.",
		"Plan":       "The agent's plan entries.",
		"Commands":   "For available_commands: the slash commands the agent accepts in a message.",
		"Config":     "For config_change: the agent's session settings (mode, model, …) and their current values.",
		"Permission": "For permission_request and permission_response.",
		"StopReason": "For turn_end: end_turn, max_tokens, max_turn_requests, refusal, cancelled, or budget_exceeded (sandbox-mcp cancelled it at a limit).",
		"Error":      "Error message, for error and failed turns.",
		"ExitCode":   "For agent_exit: the agent process's exit code.",
		"Usage":      "For usage: what the agent reported (context, session cost). For turn_end: the turn's totals.",
		"Budget":     "For cancel_requested and turn_end of a turn stopped by a budget: which limit was crossed.",
		"Truncated":  "True when this event's text was shortened to keep the output bounded.",
		"Raw":        "The ACP envelopes behind this event (only with raw=true).",
	},
	reflect.TypeFor[events.ToolCall](): {
		"Output":    "Text content reported with the update, if any.",
		"Diffs":     "File changes the tool call makes or made: path, line counts and the changed lines (clipped).",
		"Terminals": "Ids of agent terminals showing the tool call's output.",
		"Locations": "Files (and lines) the tool call works on.",
	},
	reflect.TypeFor[events.Diff](): {
		"NewFile": "True when there was no old text: the file is created.",
		"Added":   "Lines added.",
		"Removed": "Lines removed.",
		"Diff":    "The changed lines, each starting with - (removed), + (added) or a space (unchanged context); clipped.",
	},
	reflect.TypeFor[events.Command](): {
		"Hint": "What to write after the command, when it takes input.",
	},
	reflect.TypeFor[events.ConfigValue](): {
		"Category": "mode, model, thought_level, … as the agent labels it.",
	},
	reflect.TypeFor[events.Permission](): {
		"RequestID": "Pass it to respond_permission.",
		"Outcome":   "For permission_response: the option id chosen, or cancelled.",
	},
	reflect.TypeFor[events.Option](): {
		"Kind": "allow_once, allow_always, reject_once or reject_always.",
	},
	reflect.TypeFor[events.Usage](): {
		"ContextUsed": "Tokens in the agent's context window now.",
		"ContextSize": "Size of the agent's context window.",
		"Cost":        "Cost in currency: on a usage event the session's total so far as the agent reports it; on a turn_end the turn's share.",
		"Currency":    "ISO 4217 code of cost, e.g. USD.",
	},
	reflect.TypeFor[events.BudgetHit](): {
		"Limit": "The limit crossed: tokens, cost or turn_time.",
		"Used":  "What the turn had used (tokens, currency units or seconds).",
		"Max":   "The limit.",
	},

	// respond_permission
	reflect.TypeFor[manager.PermissionResult](): {
		"RequestID": "The request answered.",
		"Outcome":   "The option id sent, or cancelled.",
		"Status":    "Session status after the answer.",
	},

	// cancel_turn
	reflect.TypeFor[manager.CancelResult](): {
		"TurnID": "The turn asked to stop.",
		"Status": "Session status after the cancel: idle once the turn ended with stop reason cancelled.",
	},

	// list_sandboxes
	reflect.TypeFor[manager.SandboxList](): {
		"Sandboxes": "Sandboxes, ours first.",
		"Warnings":  "Backends that could not be listed, and why.",
	},
	reflect.TypeFor[manager.SandboxEntry](): {
		"Name":      "Sandbox name.",
		"Backend":   "Backend that runs it.",
		"Status":    "running, stopped, or missing (in our records but gone from the backend).",
		"Workspace": "Host folder mounted in it.",
		"Ours":      "True when sandbox-mcp created it (only these can be used and destroyed with these tools).",
		"Sessions":  "Its agent sessions.",
	},
	reflect.TypeFor[manager.SessionEntry](): {
		"Name":         "Session name.",
		"Agent":        "The coding agent.",
		"Status":       "Session status.",
		"Turn":         "The running turn.",
		"Turns":        "Messages sent so far.",
		"Pending":      "Permission requests waiting for an answer.",
		"LastError":    "Why the last turn or the session failed.",
		"Created":      "When it was created (RFC 3339).",
		"Usage":        "Tokens and cost so far, as the agent reported them (tokens summed over turns, cost the session's total).",
		"Budget":       "The limits each turn runs under.",
		"CanContinue":  "True when the session ended (its agent process is gone) and create_session with continue=<name> can resume it.",
		"ContinueWith": "How it would be continued: session/load (the agent reloads its own history) or summary (a new agent session primed with a summary).",
		"Mode":         "The agent's current mode, as it last reported it.",
		"Model":        "The agent's current model, as it last reported it.",
	},

	// list_sessions
	reflect.TypeFor[manager.SessionList](): {
		"Sandbox":  "Sandbox name.",
		"Sessions": "Its sessions, oldest first.",
	},

	// get_diff
	reflect.TypeFor[manager.DiffResult](): {
		"Sandbox":        "Sandbox name.",
		"Workspace":      "The folder diffed, inside the sandbox (the same path as on the host).",
		"Base":           "The commit diffed against: the workspace's HEAD when the sandbox was created (empty: HEAD now, or no commit).",
		"Diff":           "git diff of the workspace against the base commit (committed, staged and unstaged changes).",
		"Untracked":      "New files git does not track yet (not ignored).",
		"ControlChanges": "Changes to git control files (.gitattributes, .gitignore, .gitmodules, .git itself, HEAD moved): check them before running git here on the host.",
		"Truncated":      "True when the diff or the file list was cut to stay bounded.",
		"Isolation":      "For a sandbox on its own clone: its branch, base, commits and changed files.",
	},
	reflect.TypeFor[manager.DiffIsolation](): {
		"Branch":      "The sandbox's branch.",
		"Base":        "The commit the diff is against (where the clone started).",
		"Head":        "The branch's commit in the sandbox.",
		"Commits":     "The sandbox's commits since the base, newest first (short sha and subject).",
		"Files":       "Changed files as git --name-status lines (committed and uncommitted).",
		"Uncommitted": "True when part of the diff is not committed in the sandbox.",
		"Diverged":    "True when the sandbox rewrote history below the base: the diff still compares the contents.",
		"Landed":      "True when everything shown was landed already.",
	},

	// land_sandbox
	reflect.TypeFor[manager.LandResult](): {
		"Sandbox":     "Sandbox name.",
		"Workspace":   "Your repository the work landed in.",
		"Commits":     "Commits landed on top of the base.",
		"Uncommitted": "True when the sandbox has uncommitted work; it is landed only with include_uncommitted.",
		"CheckOutput": "The end of the check command's output, when one ran and passed.",
		"Note":        "What else to know (e.g. the sandbox is gone and this is the last collected work).",
	},
	reflect.TypeFor[gitwork.Landed](): {
		"Branch":        "The branch in your repository that holds the sandbox's work.",
		"Commit":        "Its commit.",
		"AlreadyLanded": "True when the branch already held exactly this work (landing is idempotent).",
		"Into":          "The branch the work was integrated into, when asked.",
		"IntoCommit":    "That branch's commit afterwards.",
		"Integration":   "fast-forward, merge, or already-contained.",
		"Conflicts":     "Files that conflict when merging into the branch; nothing was changed.",
	},

	// destroy_sandbox
	reflect.TypeFor[manager.DestroyResult](): {
		"Name":           "The sandbox name.",
		"Destroyed":      "True when a sandbox was removed by this call.",
		"Landed":         "What was landed first, when land_to was given.",
		"AlreadyGone":    "True when there was nothing left to remove.",
		"SessionsClosed": "Agent sessions that were stopped.",
	},
}
