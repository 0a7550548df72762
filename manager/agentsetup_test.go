package manager

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
)

func TestAuthMethod(t *testing.T) {
	// codex-acp 0.16.0's initialize advertises these three (measured); claude-agent-acp 0.23.1 only claude-login.
	codex := `{"authMethods":[{"id":"chatgpt"},{"id":"codex-api-key"},{"id":"openai-api-key"}]}`
	for _, tc := range []struct {
		name, init string
		passed     []string
		want       string
	}{
		{"codex with OPENAI_API_KEY", codex, []string{"OPENAI_API_KEY"}, "openai-api-key"},
		{"codex with CODEX_API_KEY preferred", codex, []string{"OPENAI_API_KEY", "CODEX_API_KEY"}, "codex-api-key"},
		{"codex without a key", codex, []string{"ANTHROPIC_API_KEY"}, ""},
		{"claude: login only", `{"authMethods":[{"id":"claude-login"}]}`, []string{"ANTHROPIC_API_KEY"}, ""},
		{"anthropic key method", `{"authMethods":[{"id":"anthropic-api-key"}]}`, []string{"ANTHROPIC_API_KEY"}, "anthropic-api-key"},
		{"none advertised", `{"authMethods":[]}`, []string{"OPENAI_API_KEY"}, ""},
		{"bad JSON", `{`, []string{"OPENAI_API_KEY"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := authMethod(json.RawMessage(tc.init), tc.passed); got != tc.want {
				t.Errorf("authMethod = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestModelIDs(t *testing.T) {
	for _, tc := range []struct {
		name, models, opts string
		want               []string
	}{
		{"models list", `{"availableModels":[{"modelId":"a"},{"modelId":"b"}]}`, `[{"category":"model","options":[{"value":"x"}]}]`, []string{"a", "b"}},
		{"config option only", ``, `[{"id":"mode","category":"mode","options":[{"value":"plan"}]},{"id":"model","category":"model","options":[{"value":"x"},{"value":"y"}]}]`, []string{"x", "y"}},
		{"grouped options", ``, `[{"id":"m","category":"model","options":[{"group":"g","options":[{"value":"p/q"}]}]}]`, []string{"p/q"}},
		{"nothing", ``, ``, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := modelIDs(json.RawMessage(tc.models), json.RawMessage(tc.opts)); !slices.Equal(got, tc.want) {
				t.Errorf("modelIDs = %v, want %v", got, tc.want)
			}
		})
	}
}

// recorder is an acp.Transport that records the methods posted and answers each from replies (by method).
type recorder struct {
	methods []string
	replies map[string]string
}

func (r *recorder) Do(_ context.Context, _, _ string, body []byte, _ time.Duration) (int, []byte, error) {
	var env struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	_ = json.Unmarshal(body, &env)
	r.methods = append(r.methods, env.Method)
	reply, ok := r.replies[env.Method]
	if !ok {
		reply = `"result":{}`
	}
	return http.StatusOK, []byte(`{"jsonrpc":"2.0","id":` + string(env.ID) + `,` + reply + `}`), nil
}

func (r *recorder) Stream(context.Context, string, int64, time.Duration, io.Writer) error { return nil }

// TestSetModel: an agent with a model config option gets session/set_config_option (claude-agent-acp,
// OpenCode); one without gets session/set_model; one whose set_config_option is not implemented falls back.
func TestSetModel(t *testing.T) {
	opts := json.RawMessage(`[{"id":"model","category":"model","options":[{"value":"haiku"}]}]`)
	notFound := `"error":{"code":-32601,"message":"Method not found"}`
	for _, tc := range []struct {
		name    string
		opts    json.RawMessage
		replies map[string]string
		want    []string
		wantErr string
	}{
		{"config option", opts, nil, []string{acp.MethodSetConfigOption}, ""},
		{"no config option", nil, nil, []string{acp.MethodSetModel}, ""},
		{"set_config_option missing", opts, map[string]string{acp.MethodSetConfigOption: notFound}, []string{acp.MethodSetConfigOption, acp.MethodSetModel}, ""},
		{"set_config_option refuses", opts, map[string]string{acp.MethodSetConfigOption: `"error":{"code":-32602,"message":"Invalid value"}`}, []string{acp.MethodSetConfigOption}, "Invalid value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{replies: tc.replies}
			m := &Manager{}
			err := m.setModel(context.Background(), &acp.Client{T: rec, ServerID: "s"}, "sess", "haiku", tc.opts)
			if !slices.Equal(rec.methods, tc.want) {
				t.Errorf("methods = %v, want %v", rec.methods, tc.want)
			}
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
