package acp

// Params and results of the messages we send (ACP's schema, only the members we use).

// InitializeParams are initialize's: we offer the agent no file system and no terminal of ours.
type InitializeParams struct {
	ProtocolVersion    int                `json:"protocolVersion"`
	ClientCapabilities ClientCapabilities `json:"clientCapabilities"`
	ClientInfo         Implementation     `json:"clientInfo"`
}

// ClientCapabilities are what the client offers the agent.
type ClientCapabilities struct {
	FS       FileSystemCapability `json:"fs"`
	Terminal bool                 `json:"terminal"`
}

// FileSystemCapability says which fs/* requests the client serves.
type FileSystemCapability struct {
	ReadTextFile  bool `json:"readTextFile"`
	WriteTextFile bool `json:"writeTextFile"`
}

// Implementation names a program and its version.
type Implementation struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// AuthenticateParams are authenticate's: one of the auth methods initialize offered.
type AuthenticateParams struct {
	MethodID string `json:"methodId"`
}

// SessionParams are session/new's, and session/load's when SessionID is set.
type SessionParams struct {
	SessionID string `json:"sessionId,omitempty"`
	Cwd       string `json:"cwd"`
	// MCPServers must be a list, empty or not, in what is sent (ACP requires the member); it is nil only in
	// the copy we log, which leaves the servers (and the secrets they may carry) out.
	MCPServers []any          `json:"mcpServers,omitzero"`
	Meta       map[string]any `json:"_meta,omitempty"`
}

// SetModeParams are session/set_mode's.
type SetModeParams struct {
	SessionID string `json:"sessionId"`
	ModeID    string `json:"modeId"`
}

// SetModelParams are session/set_model's.
type SetModelParams struct {
	SessionID string `json:"sessionId"`
	ModelID   string `json:"modelId"`
}

// SetConfigOptionParams are session/set_config_option's.
type SetConfigOptionParams struct {
	SessionID string `json:"sessionId"`
	ConfigID  string `json:"configId"`
	Value     string `json:"value"`
}

// PromptParams are session/prompt's.
type PromptParams struct {
	SessionID string         `json:"sessionId"`
	Prompt    []ContentBlock `json:"prompt"`
}

// ContentBlock is an ACP content block; we send text only.
type ContentBlock struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// TextBlock is a text content block.
func TextBlock(text string) ContentBlock { return ContentBlock{Type: "text", Text: text} }

// CancelParams are session/cancel's. Meta records in the log why we cancelled (a budget crossed).
type CancelParams struct {
	SessionID string         `json:"sessionId"`
	Meta      map[string]any `json:"_meta,omitempty"`
}

// StopResult is a session/prompt result as we write it ourselves, for a turn that ended without the
// agent's answer.
type StopResult struct {
	StopReason string `json:"stopReason"`
}

// PermissionAnswer is our result for a session/request_permission: SelectOption or CancelPermission.
type PermissionAnswer struct {
	Outcome PermissionOutcome `json:"outcome"`
}

// PermissionOutcome is "selected" with the option's id, or "cancelled" without one.
type PermissionOutcome struct {
	Outcome  string  `json:"outcome"`
	OptionID *string `json:"optionId,omitempty"` // a pointer: a selected option's id is sent even when empty
}

// SelectOption answers a permission request with one of its options.
func SelectOption(optionID string) PermissionAnswer {
	return PermissionAnswer{PermissionOutcome{Outcome: "selected", OptionID: &optionID}}
}

// CancelPermission answers a permission request as cancelled.
func CancelPermission() PermissionAnswer {
	return PermissionAnswer{PermissionOutcome{Outcome: "cancelled"}}
}

// UpdateParams are session/update's for a chunk of streamed text. The agent sends these; we write one
// ourselves only when we rebuild a chunk whose text was redacted.
type UpdateParams struct {
	SessionID string       `json:"sessionId"`
	Update    ContentChunk `json:"update"`
}

// ContentChunk is a streamed piece of a message or thought (sessionUpdate agent_message_chunk and kin).
type ContentChunk struct {
	SessionUpdate string       `json:"sessionUpdate"`
	Content       ContentBlock `json:"content"`
}
