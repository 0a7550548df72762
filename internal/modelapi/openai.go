package modelapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// NewOpenAI serves the OpenAI Responses API (POST /v1/responses, streamed, for Codex's custom model
// provider) and OpenAI-compatible chat completions (POST /v1/chat/completions, streamed or not, for
// OpenCode's custom provider). Both take steps from the same queue. GET /v1/models lists the model
// "scripted-model".
func NewOpenAI(t testing.TB) *Server {
	return start(t, func(s *Server) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /v1/responses", s.responses)
		mux.HandleFunc("POST /v1/chat/completions", s.chatCompletions)
		mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{
				map[string]any{"id": "scripted-model", "object": "model", "created": 0, "owned_by": "sandbox-mcp"}}})
		})
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			s.t.Logf("modelapi: unexpected %s %s", r.Method, r.URL.Path)
			writeJSON(w, http.StatusNotFound, openAIError(http.StatusNotFound, "no such route in the scripted API"))
		})
		return mux
	})
}

func openAIError(status int, msg string) map[string]any {
	typ, code := "server_error", "server_error"
	switch status {
	case http.StatusTooManyRequests:
		typ, code = "rate_limit_exceeded", "rate_limit_exceeded"
	case http.StatusBadRequest:
		typ, code = "invalid_request_error", "invalid_request"
	case http.StatusNotFound:
		typ, code = "invalid_request_error", "not_found"
	}
	return map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": code, "param": nil}}
}

// serve decodes a request, takes its step and answers a scripted failure; ok=false when it answered.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) (Request, Step, bool) {
	req, err := decode(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, openAIError(400, err.Error()))
		return req, Step{}, false
	}
	st, _, err := s.take(r, &req)
	if err != nil {
		s.t.Logf("modelapi: %v", err)
		writeJSON(w, http.StatusInternalServerError, openAIError(500, err.Error()))
		return req, st, false
	}
	if st.Fail != 0 {
		msg := st.ErrorMessage
		if msg == "" {
			msg = fmt.Sprintf("scripted failure %d", st.Fail)
		}
		writeJSON(w, st.Fail, openAIError(st.Fail, msg))
		return req, st, false
	}
	return req, st, true
}

// responses streams one Responses API answer: a message item with the text, then a function_call item.
func (s *Server) responses(w http.ResponseWriter, r *http.Request) {
	req, st, ok := s.serve(w, r)
	if !ok {
		return
	}
	u := st.Usage.or(120, 20)
	id := fmt.Sprintf("resp_scripted_%d", req.Step)
	e := newSSE(w)
	resp := map[string]any{"id": id, "object": "response", "status": "in_progress", "model": req.Model, "output": []any{}}
	if e.event("response.created", map[string]any{"type": "response.created", "response": resp}) != nil {
		return
	}
	var output []any
	idx := 0
	if st.Text != "" {
		itemID := fmt.Sprintf("msg_scripted_%d", req.Step)
		_ = e.event("response.output_item.added", map[string]any{"type": "response.output_item.added", "output_index": idx,
			"item": map[string]any{"type": "message", "id": itemID, "role": "assistant", "status": "in_progress", "content": []any{}}})
		for _, c := range chunks(st.Text) {
			if !pause(r, st.Delay) {
				return
			}
			if e.event("response.output_text.delta", map[string]any{"type": "response.output_text.delta", "item_id": itemID,
				"output_index": idx, "content_index": 0, "delta": c}) != nil {
				return
			}
		}
		item := map[string]any{"type": "message", "id": itemID, "role": "assistant", "status": "completed",
			"content": []any{map[string]any{"type": "output_text", "text": st.Text, "annotations": []any{}}}}
		_ = e.event("response.output_item.done", map[string]any{"type": "response.output_item.done", "output_index": idx, "item": item})
		output = append(output, item)
		idx++
	}
	if st.Tool != nil {
		args, _ := json.Marshal(st.Tool.Input)
		item := map[string]any{"type": "function_call", "id": fmt.Sprintf("fc_scripted_%d", req.Step), "status": "completed",
			"call_id": fmt.Sprintf("call_scripted_%d", req.Step), "name": st.Tool.Name, "arguments": string(args)}
		if !pause(r, st.Delay) {
			return
		}
		_ = e.event("response.output_item.added", map[string]any{"type": "response.output_item.added", "output_index": idx, "item": item})
		_ = e.event("response.output_item.done", map[string]any{"type": "response.output_item.done", "output_index": idx, "item": item})
		output = append(output, item)
	}
	resp["status"], resp["output"] = "completed", output
	resp["usage"] = map[string]any{"input_tokens": u.Input, "output_tokens": u.Output, "total_tokens": u.Input + u.Output,
		"input_tokens_details": map[string]any{"cached_tokens": 0}, "output_tokens_details": map[string]any{"reasoning_tokens": 0}}
	_ = e.event("response.completed", map[string]any{"type": "response.completed", "response": resp})
}

// chatCompletions answers one chat completion, streamed as data-only chunks ending in [DONE].
func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	req, st, ok := s.serve(w, r)
	if !ok {
		return
	}
	u := st.Usage.or(120, 20)
	id := fmt.Sprintf("chatcmpl-scripted-%d", req.Step)
	finish := "stop"
	var calls []any
	if st.Tool != nil {
		finish = "tool_calls"
		args, _ := json.Marshal(st.Tool.Input)
		calls = []any{map[string]any{"index": 0, "id": fmt.Sprintf("call_scripted_%d", req.Step), "type": "function",
			"function": map[string]any{"name": st.Tool.Name, "arguments": string(args)}}}
	}
	usage := map[string]any{"prompt_tokens": u.Input, "completion_tokens": u.Output, "total_tokens": u.Input + u.Output}
	if !req.Stream {
		msg := map[string]any{"role": "assistant", "content": st.Text}
		if calls != nil {
			msg["tool_calls"] = calls
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "object": "chat.completion", "created": 0, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}}, "usage": usage})
		return
	}
	e := newSSE(w)
	chunk := func(delta map[string]any, fin any) error {
		return e.event("", map[string]any{"id": id, "object": "chat.completion.chunk", "created": 0, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": fin}}})
	}
	if chunk(map[string]any{"role": "assistant", "content": ""}, nil) != nil {
		return
	}
	for _, c := range chunks(st.Text) {
		if !pause(r, st.Delay) {
			return
		}
		if chunk(map[string]any{"content": c}, nil) != nil {
			return
		}
	}
	if calls != nil {
		if !pause(r, st.Delay) {
			return
		}
		_ = chunk(map[string]any{"tool_calls": calls}, nil)
	}
	_ = chunk(map[string]any{}, finish)
	_ = e.event("", map[string]any{"id": id, "object": "chat.completion.chunk", "created": 0, "model": req.Model, "choices": []any{}, "usage": usage})
	_, _ = w.Write([]byte("data: [DONE]\n\n"))
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}
