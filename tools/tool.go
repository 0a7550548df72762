// Package tools is the server's MCP surface: each tool's schema (generated from its Go input and output
// structs), annotations, argument validation and the short text rendering of its result. It knows nothing
// of sandboxes' CLIs or of ACP; it calls a Service.
package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/invopop/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/sandbox-mcp/sandbox-mcp/redact"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// annotations are set explicitly on every tool: mcp-go's defaults mark every tool destructive and
// open-world, which makes hosts ask for confirmation where none is needed.
type annotations struct {
	readOnly, destructive, idempotent, openWorld bool
}

// spec is one tool's identity.
type spec struct {
	name, title, description string
	ann                      annotations
}

// reflector generates inline object schemas (no $ref, no $defs): some clients reject references and
// top-level combinators in tool schemas. The domain types' fields get their descriptions from words.go.
var reflector = &jsonschema.Reflector{
	ExpandedStruct: true,
	DoNotReference: true,
	LookupComment:  describe,
	Mapper: func(t reflect.Type) *jsonschema.Schema {
		if t == reflect.TypeFor[json.RawMessage]() {
			return &jsonschema.Schema{} // any JSON value, passed through from the agent
		}
		return nil
	},
}

// Schema returns the JSON schema of v's type as mcp-go expects it (an object schema, no $schema/$id).
func Schema(v any) json.RawMessage {
	s := reflector.Reflect(v)
	addEnums(s, reflect.TypeOf(v))
	s.Version, s.ID = "", ""
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("schema of %T: %v", v, err)) // programming error: caught by the schema tests
	}
	return b
}

// validator is implemented by every input struct: checks beyond what the schema can say.
type validator interface{ Validate() error }

// newTool adapts a typed function into an MCP tool. Every failure the model can act on becomes an isError
// result with one line (what went wrong and what to do next); the full error is logged once, here.
func newTool[In validator, Out any](sp spec, log *slog.Logger, run func(ctx context.Context, in In, progress func(string)) (Out, error), text func(Out) string) server.ServerTool {
	var in In
	var out Out
	// NewToolWithRawSchema, not NewTool: NewTool fills in a default InputSchema, and mcp-go refuses a tool
	// with both that and a raw one.
	tool := mcp.NewToolWithRawSchema(sp.name, sp.description, Schema(in))
	for _, opt := range []mcp.ToolOption{
		mcp.WithToolTitle(sp.title),
		mcp.WithTitleAnnotation(sp.title),
		mcp.WithReadOnlyHintAnnotation(sp.ann.readOnly),
		mcp.WithDestructiveHintAnnotation(sp.ann.destructive),
		mcp.WithIdempotentHintAnnotation(sp.ann.idempotent),
		mcp.WithOpenWorldHintAnnotation(sp.ann.openWorld),
		mcp.WithRawOutputSchema(Schema(out)),
	} {
		opt(&tool)
	}
	handler := func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		start := time.Now()
		in, err := bind[In](req)
		if err != nil {
			return mcp.NewToolResultError(fmt.Sprintf("invalid arguments for %s: %v: check the tool's input schema", sp.name, oneLine(err))), nil
		}
		if err := in.Validate(); err != nil {
			log.Info("tool refused", "tool", sp.name, "err", err)
			return mcp.NewToolResultError(Message(err)), nil
		}
		out, err := run(ctx, in, progressReporter(ctx, req))
		if err != nil {
			log.Warn("tool failed", "tool", sp.name, "duration", time.Since(start), "err", err)
			return mcp.NewToolResultError(Message(err)), nil
		}
		log.Debug("tool done", "tool", sp.name, "duration", time.Since(start))
		return mcp.NewToolResultStructured(out, text(out)), nil
	}
	return server.ServerTool{Tool: tool, Handler: handler}
}

// RedactTools is the server's outermost tool middleware: no secret value leaves in a result's text, its
// structured content (marshalled, redacted as JSON, decoded again) or an error. It wraps every tool, so a
// tool added later cannot forget it.
func RedactTools(r *redact.Redactor) server.ToolHandlerMiddleware {
	return func(next server.ToolHandlerFunc) server.ToolHandlerFunc {
		if r.Empty() {
			return next
		}
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			// Progress notifications leave while the call runs, beside the result: the tool's progress
			// reporter finds the redactor here.
			ctx = context.WithValue(ctx, redactorKey{}, r)
			res, err := next(ctx, req)
			if err != nil {
				return nil, redactErr(r, err)
			}
			if res == nil {
				return nil, nil
			}
			out := *res
			out.Content = redactContent(r, res.Content)
			if res.StructuredContent != nil {
				sc, err := redactJSON(r, res.StructuredContent)
				if err != nil {
					return nil, fmt.Errorf("redact structured content: %w", err)
				}
				out.StructuredContent = sc
			}
			return &out, nil
		}
	}
}

// redactorKey holds the *redact.Redactor that RedactTools put in a call's context.
type redactorKey struct{}

// redactErr keeps err (and what errors.Is finds in it) unless its message holds a secret.
func redactErr(r *redact.Redactor, err error) error {
	if msg := err.Error(); r.String(msg) != msg {
		return errors.New(r.String(msg))
	}
	return err
}

// redactContent redacts text content; the tools return no other kind.
func redactContent(r *redact.Redactor, cs []mcp.Content) []mcp.Content {
	out := make([]mcp.Content, len(cs))
	for i, c := range cs {
		switch c := c.(type) {
		case mcp.TextContent:
			c.Text = r.String(c.Text)
			out[i] = c
		case *mcp.TextContent:
			cc := *c
			cc.Text = r.String(cc.Text)
			out[i] = cc
		default:
			out[i] = c
		}
	}
	return out
}

// redactJSON redacts v's JSON form and, when a secret was found, decodes it again (into map[string]any
// for an object); otherwise v is returned as it was.
func redactJSON(r *redact.Redactor, v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	red := r.Bytes(b)
	if bytes.Equal(red, b) {
		return v, nil
	}
	var m map[string]any
	if err := json.Unmarshal(red, &m); err == nil {
		return m, nil
	}
	var a any
	if err := json.Unmarshal(red, &a); err != nil {
		return nil, err
	}
	return a, nil
}

// bind decodes the arguments strictly: an unknown argument (a typo) is an error, not silently ignored.
// This, the types and each input's Validate do what mcp-go's schema validation would, with messages a
// model can act on (mcp-go's read like "&{Got:gpt-7 Want:[…]}").
func bind[In any](req mcp.CallToolRequest) (In, error) {
	var in In
	raw, err := json.Marshal(req.Params.Arguments)
	if err != nil {
		return in, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return in, fmt.Errorf("argument %q must be of type %s", te.Field, te.Type)
		}
		return in, errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	return in, nil
}

// progressReporter returns a function that sends notifications/progress for this call, or nil when the
// client did not ask for progress (no progressToken). Progress values increase strictly, as the spec
// requires; the message says what the agent is doing, redacted like a result.
func progressReporter(ctx context.Context, req mcp.CallToolRequest) func(string) {
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return nil
	}
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return nil
	}
	token := req.Params.Meta.ProgressToken
	red, _ := ctx.Value(redactorKey{}).(*redact.Redactor)
	var n float64
	return func(msg string) {
		msg = red.String(msg)
		n++
		_ = srv.SendNotificationToClient(ctx, "notifications/progress", map[string]any{
			"progressToken": token, "progress": n, "message": msg})
	}
}

// Message renders an error as the one line a tool result carries: its text as it is, then the wording of
// its remedy (remedy.go), if it has one, at the end of the line however deep the error was wrapped. Errors
// of a known kind (sandbox.Errorf) carry their kind without adding words to that text, so nothing is cut
// out here.
func Message(err error) string {
	msg := oneLine(worded(err))
	if errors.Is(err, context.Canceled) {
		msg += " (the call was cancelled)"
	}
	return msg
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// checkName validates an optional or required name argument.
func checkName(kind, name string, required bool) error {
	if name == "" && !required {
		return nil
	}
	if name == "" {
		return sandbox.Errorf(sandbox.Invalid, "%s is required", kind)
	}
	return sandbox.ValidateName(kind, name)
}
