// Package sandbox holds what the server knows about "a place where agents run": the Backend interface that
// every sandbox technology implements (the sbx CLI, the legacy `docker sandbox` plugin, plain Docker Engine
// containers), the shared types and errors, name validation, and the command runner the backends use.
//
// Backends know nothing of MCP or of sandbox-agent's protocol: they create, list, exec in and remove
// sandboxes, and translate their CLI's failures into error kinds (errkind.go) that errors.Is matches against
// the sentinels below.
package sandbox

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// Sentinel errors, one per Kind. Failures are built with Errorf(kind, …) (errkind.go), not by wrapping these
// with %w: callers test with errors.Is(err, ErrInvalid) all the same, and the message shown to the user is
// the error's own text, without these words.
var (
	// ErrNotFound: the sandbox does not exist (or no longer exists).
	ErrNotFound = errors.New("sandbox not found")
	// ErrExists: a sandbox of that name exists already (with another workspace or owner).
	ErrExists = errors.New("sandbox already exists")
	// ErrInvalid: the request was refused before anything ran (bad name, path, agent…).
	ErrInvalid = errors.New("invalid request")
	// ErrUnavailable: the backend's CLI or engine is not installed or not running.
	ErrUnavailable = errors.New("backend unavailable")
	// ErrUnsupportedVersion: something inside the sandbox is too old (or too new) for us.
	ErrUnsupportedVersion = errors.New("unsupported version")
)

// Status values a backend reports. Anything a CLI prints that is not "running" maps to StatusStopped:
// only those two are documented for Docker Sandboxes.
const (
	StatusRunning = "running"
	StatusStopped = "stopped"
)

// Spec is what Create needs. Name and Workspace are validated by the caller (ValidateName, and the
// workspace policy); backends validate again only what their own CLI restricts further.
type Spec struct {
	Name      string // sandbox name, already valid per ValidateName
	Workspace string // absolute host path, mounted at the same path inside
	// ReadOnly are paths inside Workspace (each an existing folder, or a file for the docker backend)
	// mounted read-only over the read-write workspace, at the same path: the workspace's .git, so that
	// the agent cannot plant hooks or config that git on the host would run (SECURITY.md).
	ReadOnly []string
	Agent    string // the backend's agent kind (sbx/docker-sandbox: selects the default template); may be empty
	Template string // image or template reference; empty means the backend's default
	// NoPull: Template was chosen by the caller and is not on the operator's allowlist, so it must never be
	// pulled: only a copy already on this machine may be used (it will receive the API keys).
	NoPull bool
	// AgentEnv is the environment sandbox-agent must run with (same form as ExecSpec.Env). Backends that
	// start sandbox-agent themselves (AgentServer) pass it at creation; the others ignore it.
	AgentEnv []string
	// Isolation (issue 14, docs/isolation.md). Mount, when set, is the host folder bind-mounted at
	// Workspace instead of Workspace itself (the server-owned clone); NoMount mounts no host folder at all
	// (the bundle path: the repository is copied in). Clone asks a backend with a clone mode of its own
	// (sbx --clone) for it. Backends that support none of these ignore them; the manager decides.
	Mount   string
	NoMount bool
	Clone   bool
	// StaticMCP names MCP servers the operator registered with `sbx mcp add`, pinned on the sandbox's MCP
	// gateway at creation (sbx --static-mcp, sbx_mcp.go). Only sbx has it; the others refuse a non-empty list.
	StaticMCP []string
}

// Info describes one sandbox as the backend reports it.
type Info struct {
	Name       string    `json:"name"`
	Backend    string    `json:"backend"`
	Status     string    `json:"status"`
	Agent      string    `json:"agent,omitempty"`
	Workspaces []string  `json:"workspaces,omitempty"`
	Template   string    `json:"template,omitempty"`
	Created    time.Time `json:"created,omitzero"` // Docker: our org.sandbox-mcp.created label when present
	// Managed is true when the backend can tell the sandbox was created by sandbox-mcp (Docker labels).
	// Backends that cannot tell leave it false; the server's own state decides then.
	Managed bool `json:"managed,omitempty"`
	// AgentBin is sandbox-agent's path inside the sandbox when the backend put it there (provisioned);
	// "" means the image's own, on PATH. AgentVersion is its version when the backend knows it already,
	// so no exec has to ask. AgentsVolume names the shared volume of agent installs the sandbox reads, ""
	// for none (docker_agents.go).
	AgentBin     string `json:"-"`
	AgentVersion string `json:"-"`
	AgentsVolume string `json:"-"`
}

// ExecSpec is one command to run inside a sandbox.
type ExecSpec struct {
	// Args is the command and its arguments, passed as argv (never through a shell).
	Args []string
	// Stdin, when non-nil, is attached to the command (`exec -i`).
	Stdin io.Reader
	// Stdout, when non-nil, receives the command's stdout as it is produced instead of Result.Stdout:
	// used for long-lived streams (SSE).
	Stdout io.Writer
	// Env entries are NAME=VALUE for plain settings, or a bare NAME to pass the variable by name from the
	// server's own environment (secrets: their values never appear in argv).
	Env []string
	// Workdir is the working directory inside the sandbox; empty means the backend's default.
	Workdir string
	// Detach starts the command in the background and returns at once (`exec -d`).
	Detach bool
	// Timeout bounds the call; zero means the runner's default.
	Timeout time.Duration
	// User, when set, runs the command as that user (Docker: `exec -u`); only the server sets it, to
	// prepare the workspace folder of a sandbox with no host mount.
	User string
}

// Backend is a place where agents run. Implementations must be safe for concurrent use.
type Backend interface {
	// Name is the backend's identifier: "sbx", "docker-sandbox" or "docker".
	Name() string
	// Check reports whether the backend is installed and answering. It returns an error wrapping
	// ErrUnavailable, with a hint on how to install it, when it is not.
	Check(ctx context.Context) error
	// Create creates and starts a sandbox. It returns ErrExists if the name is taken.
	Create(ctx context.Context, spec Spec) (Info, error)
	// Get returns one sandbox, or ErrNotFound.
	Get(ctx context.Context, name string) (Info, error)
	// List returns the sandboxes the backend knows (for Docker: only those labelled as ours).
	List(ctx context.Context) ([]Info, error)
	// Exec runs a command inside the sandbox. A non-zero exit is an *ExitError; a missing sandbox is
	// ErrNotFound. A stopped sandbox is started first where the backend does that by itself.
	Exec(ctx context.Context, name string, spec ExecSpec) (Result, error)
	// Remove stops and deletes the sandbox. It returns ErrNotFound if it is already gone.
	Remove(ctx context.Context, name string) error
	// Stop stops the sandbox without deleting it: every process in it dies (sandbox-agent and its agents
	// with them), its filesystem stays, and Exec starts it again, so an idle sandbox costs nothing until it
	// is used. Stopping a stopped sandbox is a success. It returns ErrNotFound if the sandbox is gone.
	// Docs: docs/upstream/docker-sandboxes.md §7 "stop" and §13.
	Stop(ctx context.Context, name string) error
}

// Endpoint is how the server reaches sandbox-agent over plain HTTP, for backends that can publish its port.
type Endpoint struct {
	URL   string // e.g. http://127.0.0.1:49153 (host side)
	Token string // bearer token the relay wants; never logged or returned to clients
	// Socket, when set, is a unix socket on the host to send every request to instead of URL's host.
	Socket string
	// Client, when set, carries every request instead (URL's host is then any name): a backend that owns
	// its connection to sandbox-agent, such as the in-memory fake the domain tests use
	// (internal/fakebackend). It outranks Socket.
	Client *http.Client
}

// AgentServer is implemented by backends that run sandbox-agent themselves and expose it over HTTP (the
// Docker backend's published-port mode). Backends without it are reached through Exec.
type AgentServer interface {
	// AgentEndpoint returns the endpoint of the sandbox's sandbox-agent, or ok=false when this sandbox is
	// reached through Exec instead.
	AgentEndpoint(ctx context.Context, name string) (ep Endpoint, ok bool, err error)
}
