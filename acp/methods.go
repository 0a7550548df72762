package acp

// Method names of the ACP messages we send or interpret, as the agents and sandbox-agent spell them.
const (
	MethodInitialize      = "initialize"
	MethodAuthenticate    = "authenticate"
	MethodNew             = "session/new"
	MethodLoad            = "session/load"
	MethodSetMode         = "session/set_mode"
	MethodSetModel        = "session/set_model"
	MethodSetConfigOption = "session/set_config_option"
	MethodPrompt          = "session/prompt"
	MethodCancel          = "session/cancel"
	MethodUpdate          = "session/update"
	MethodPermission      = "session/request_permission"
	// MethodAgentExit is sandbox-agent's own notification that the agent process exited.
	MethodAgentExit = "_adapter/agent_exited"
)
