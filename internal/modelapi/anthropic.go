package modelapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// NewAnthropic serves the Anthropic Messages API (POST /v1/messages, streamed or not) for ANTHROPIC_BASE_URL.
// Claude Code also counts tokens (POST /v1/messages/count_tokens); that is answered with a fixed count.
func NewAnthropic(t testing.TB) *Server {
	return start(t, func(s *Server) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /v1/messages", s.anthropicMessages)
		mux.HandleFunc("POST /v1/messages/count_tokens", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{"input_tokens": 100})
		})
		// Claude Code probes the base URL with HEAD / before its first request.
		mux.HandleFunc("HEAD /{$}", func(w http.ResponseWriter, r *http.Request) {})
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			s.t.Logf("modelapi: unexpected %s %s", r.Method, r.URL.Path)
			writeJSON(w, http.StatusNotFound, anthropicError(http.StatusNotFound, "not_found_error", "no such route in the scripted API"))
		})
		return mux
	})
}

// anthropicErrorType is the error.type the API gives for an HTTP status.
func anthropicErrorType(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case 529:
		return "overloaded_error"
	case http.StatusBadRequest:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusNotFound:
		return "not_found_error"
	}
	return "api_error"
}

func anthropicError(status int, typ, msg string) map[string]any {
	return map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}}
}

func (s *Server) anthropicMessages(w http.ResponseWriter, r *http.Request) {
	req, err := decode(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, anthropicError(400, "invalid_request_error", err.Error()))
		return
	}
	st, _, err := s.take(r, &req)
	if err != nil {
		s.t.Logf("modelapi: %v", err)
		writeJSON(w, http.StatusInternalServerError, anthropicError(500, "api_error", err.Error()))
		return
	}
	if st.Fail != 0 {
		msg := st.ErrorMessage
		if msg == "" {
			msg = fmt.Sprintf("scripted failure %d", st.Fail)
		}
		writeJSON(w, st.Fail, anthropicError(st.Fail, anthropicErrorType(st.Fail), msg))
		return
	}
	u := st.Usage.or(120, 20)
	stop := "end_turn"
	var content []map[string]any
	if st.Text != "" {
		content = append(content, map[string]any{"type": "text", "text": st.Text})
	}
	toolID := fmt.Sprintf("toolu_scripted_%d", req.Step)
	if st.Tool != nil {
		stop = "tool_use"
		content = append(content, map[string]any{"type": "tool_use", "id": toolID, "name": st.Tool.Name, "input": st.Tool.Input})
	}
	msg := map[string]any{"id": fmt.Sprintf("msg_scripted_%d", req.Step), "type": "message", "role": "assistant",
		"model": req.Model, "stop_reason": nil, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": u.Input, "output_tokens": 1}}
	if !req.Stream {
		msg["content"], msg["stop_reason"] = content, stop
		msg["usage"] = map[string]any{"input_tokens": u.Input, "output_tokens": u.Output}
		writeJSON(w, http.StatusOK, msg)
		return
	}
	msg["content"] = []any{}
	e := newSSE(w)
	if e.event("message_start", map[string]any{"type": "message_start", "message": msg}) != nil {
		return
	}
	idx := 0
	if st.Text != "" {
		_ = e.event("content_block_start", map[string]any{"type": "content_block_start", "index": idx, "content_block": map[string]any{"type": "text", "text": ""}})
		for _, c := range chunks(st.Text) {
			if !pause(r, st.Delay) {
				return
			}
			if e.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": idx, "delta": map[string]any{"type": "text_delta", "text": c}}) != nil {
				return
			}
		}
		_ = e.event("content_block_stop", map[string]any{"type": "content_block_stop", "index": idx})
		idx++
	}
	if st.Tool != nil {
		in, _ := json.Marshal(st.Tool.Input)
		_ = e.event("content_block_start", map[string]any{"type": "content_block_start", "index": idx,
			"content_block": map[string]any{"type": "tool_use", "id": toolID, "name": st.Tool.Name, "input": map[string]any{}}})
		for _, c := range chunks(string(in)) {
			if !pause(r, st.Delay) {
				return
			}
			_ = e.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": idx, "delta": map[string]any{"type": "input_json_delta", "partial_json": c}})
		}
		_ = e.event("content_block_stop", map[string]any{"type": "content_block_stop", "index": idx})
	}
	_ = e.event("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": u.Output}})
	_ = e.event("message_stop", map[string]any{"type": "message_stop"})
}
