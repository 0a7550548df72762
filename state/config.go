package state

import (
	"encoding/json"

	"github.com/sandbox-mcp/sandbox-mcp/events"
)

// CurrentConfig is the session's current mode and model: as the agent last reported them in its updates
// (current_mode_update, config_option_update; events.State), else as create_session set them, else as
// session/new reported them (modes.currentModeId, models.currentModelId).
func (s Session) CurrentConfig() (mode, model string) {
	mode, model = s.State.Mode, s.State.Model
	var cur struct {
		Mode  string `json:"currentModeId"`
		Model string `json:"currentModelId"`
	}
	if mode == "" {
		mode = s.Mode
	}
	if mode == "" && json.Unmarshal(s.Modes, &cur) == nil {
		mode = events.BoundID(cur.Mode)
	}
	if model == "" {
		model = s.Model
	}
	if model == "" && json.Unmarshal(s.Models, &cur) == nil {
		model = events.BoundID(cur.Model)
	}
	return mode, model
}
