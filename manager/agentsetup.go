package manager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
)

// apiKeyMethods are the ACP auth methods that take an API key from the agent's environment, with the variable
// each reads, in the order we prefer them. codex-acp answers session/new with "Authentication required" until
// the client sends authenticate with one of its methods, even when the key is set (measured with codex-acp
// 0.16.0); sandbox-agent's own SDK (0.4.2, autoAuthenticate) does the same for these three ids.
var apiKeyMethods = []struct{ id, env string }{
	{"codex-api-key", "CODEX_API_KEY"},
	{"openai-api-key", "OPENAI_API_KEY"},
	{"anthropic-api-key", "ANTHROPIC_API_KEY"},
}

// authMethod picks the API-key auth method to send from an initialize result: the first one the agent
// advertises whose variable we pass to it (passed lists the names set). "" means none: no authenticate.
func authMethod(initResult json.RawMessage, passed []string) string {
	var init struct {
		AuthMethods []struct {
			ID string `json:"id"`
		} `json:"authMethods"`
	}
	if json.Unmarshal(initResult, &init) != nil {
		return ""
	}
	for _, m := range apiKeyMethods {
		if !slices.Contains(passed, m.env) {
			continue
		}
		for _, am := range init.AuthMethods {
			if am.ID == m.id {
				return m.id
			}
		}
	}
	return ""
}

// authenticate sends ACP authenticate when the agent advertises an API-key method whose key we pass.
func (m *Manager) authenticate(ctx context.Context, c *acp.Client, agent string, initResult json.RawMessage) error {
	id := authMethod(initResult, m.secretEnv())
	if id == "" {
		return nil
	}
	if _, err := c.Request(ctx, acp.Request{ID: acp.NumberID(4), Method: acp.MethodAuthenticate, Params: acp.AuthenticateParams{MethodID: id}}, "", 30*time.Second); err != nil {
		return fmt.Errorf("authenticate with the %s agent (method %s; check the key passed to it): %w", agent, id, err)
	}
	return nil
}

// modelOption returns the id of the config option whose category is "model" in a session/new result's
// configOptions (ACP session config options), or "". Agents that report one (claude-agent-acp 0.23,
// OpenCode) take the model through session/set_config_option; set_model is ACP's older, unstable method,
// which some agents lack.
func modelOption(configOptions json.RawMessage) string { return categoryOption(configOptions, "model") }

// categoryOption is the id of the agent's config option of a category (mode, model), if it has one.
func categoryOption(configOptions json.RawMessage, category string) string {
	var opts []struct {
		ID       string `json:"id"`
		Category string `json:"category"`
	}
	if json.Unmarshal(configOptions, &opts) != nil {
		return ""
	}
	for _, o := range opts {
		if o.Category == category {
			return o.ID
		}
	}
	return ""
}

// modelIDs lists the model ids an agent offers: from models.availableModels, else from the values of its
// model config option.
func modelIDs(models, configOptions json.RawMessage) []string {
	var av struct {
		AvailableModels []struct {
			ModelID string `json:"modelId"`
		} `json:"availableModels"`
	}
	_ = json.Unmarshal(models, &av)
	var ids []string
	for _, md := range av.AvailableModels {
		ids = append(ids, md.ModelID)
	}
	if len(ids) > 0 {
		return ids
	}
	return optionValues(configOptions, "model")
}

// optionValues lists the values of the agent's config options of a category (grouped values included).
func optionValues(configOptions json.RawMessage, category string) []string {
	var ids []string
	var opts []struct {
		Category string `json:"category"`
		Options  []struct {
			Value   string `json:"value"`
			Options []struct {
				Value string `json:"value"`
			} `json:"options"` // grouped options
		} `json:"options"`
	}
	_ = json.Unmarshal(configOptions, &opts)
	for _, o := range opts {
		if o.Category != category {
			continue
		}
		for _, v := range o.Options {
			if v.Value != "" {
				ids = append(ids, v.Value)
			}
			for _, g := range v.Options {
				ids = append(ids, g.Value)
			}
		}
	}
	return ids
}

// setModel chooses the session's model: session/set_config_option on the model option when the agent has
// one, session/set_model otherwise (and when set_config_option is not implemented).
func (m *Manager) setModel(ctx context.Context, c *acp.Client, sessionID, model string, configOptions json.RawMessage) error {
	if opt := modelOption(configOptions); opt != "" {
		_, err := c.Request(ctx, acp.Request{ID: acp.NumberID(3), Method: acp.MethodSetConfigOption,
			Params: acp.SetConfigOptionParams{SessionID: sessionID, ConfigID: opt, Value: model}}, "", 30*time.Second)
		var re *acp.RPCError
		if err == nil || !errors.As(err, &re) || re.Code != -32601 {
			return err
		}
	}
	_, err := c.Request(ctx, acp.Request{ID: acp.NumberID(3), Method: acp.MethodSetModel,
		Params: acp.SetModelParams{SessionID: sessionID, ModelID: model}}, "", 30*time.Second)
	return err
}
