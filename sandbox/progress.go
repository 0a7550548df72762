package sandbox

import (
	"context"
	"time"
)

// Reporter hears about the long first steps of a call (pulling an image, fetching sandbox-agent,
// installing an agent) while they run, and how long each took. The tools layer turns Say into MCP
// progress notifications and Step into the result's account of where the time went.
type Reporter interface {
	Say(msg string)
	Step(what string, took time.Duration)
}

type reporterKey struct{}

// WithReporter returns ctx carrying r, for the backend calls made with it.
func WithReporter(ctx context.Context, r Reporter) context.Context {
	return context.WithValue(ctx, reporterKey{}, r)
}

// Say reports msg to ctx's Reporter, if any.
func Say(ctx context.Context, msg string) {
	if r, ok := ctx.Value(reporterKey{}).(Reporter); ok && r != nil {
		r.Say(msg)
	}
}

// Step records that what took took, to ctx's Reporter, if any.
func Step(ctx context.Context, what string, took time.Duration) {
	if r, ok := ctx.Value(reporterKey{}).(Reporter); ok && r != nil {
		r.Step(what, took)
	}
}
