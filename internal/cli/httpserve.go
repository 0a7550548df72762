package cli

// The Streamable HTTP transport. `--http ADDR` serves the same MCP server (tools, resources, prompts) at
// http://ADDR/mcp instead of over stdio, for hosts that connect to a URL: a host in a container or on
// another machine, or several clients sharing one server and one set of sandboxes.
//
// Anyone who can reach the endpoint can run agents with the server's API keys on the server's files, so a
// bearer token is always required, with no opt-out: from SANDBOX_MCP_HTTP_TOKEN or --http-token-file, never
// from a flag (argv is visible to every user in ps). A bare ":PORT" binds loopback only. Any other address
// is served as asked, with a warning: the transport is plain HTTP, so off the machine it belongs behind a
// TLS proxy.

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/server"
)

const (
	// httpEndpoint is where MCP is served; every other path is 404.
	httpEndpoint = "/mcp"
	// httpShutdownGrace is how long in-flight requests get to finish when the server stops. Their contexts
	// are cancelled first, so long polls (get_events waiting) return at once rather than run it out.
	httpShutdownGrace = 5 * time.Second
	// httpMaxBody caps a request body: mcp-go reads it whole into memory.
	httpMaxBody = 8 << 20
	// httpMinToken is the shortest token accepted (openssl rand -hex 32 gives 64 characters).
	httpMinToken = 16
	// httpTokenEnv holds the token when --http-token-file is not used.
	httpTokenEnv = "SANDBOX_MCP_HTTP_TOKEN"
	// httpBodyTimeout bounds reading one request's body: a client that trickles its body would otherwise
	// hold a connection (and a goroutine) for as long as it likes. MCP messages are small; 8 MiB at even
	// 1 Mbit/s takes about a minute, so this is generous.
	httpBodyTimeout = 60 * time.Second
)

// httpOptions are serveHTTP's settings besides the address and token.
type httpOptions struct {
	// AllowedOrigins are browser origins allowed besides loopback ones of the server's own port
	// (--http-allowed-origins), each scheme://host[:port].
	AllowedOrigins []string
	// BodyTimeout bounds reading a request body; 0 means httpBodyTimeout.
	BodyTimeout time.Duration
}

// serveHTTP serves srv over MCP Streamable HTTP at addr (path /mcp) until ctx ends, then shuts down within
// httpShutdownGrace. Every request must carry "Authorization: Bearer <token>"; token must be set (see
// loadHTTPToken). An addr of ":PORT" binds 127.0.0.1. ready, when non-nil, is called with the bound address
// once the listener is open (with port 0 that is where the port is learnt). It returns nil after a shutdown
// caused by ctx, and an error when it cannot start or the listener fails.
func serveHTTP(ctx context.Context, srv *server.MCPServer, addr, token string, opts httpOptions, logger *slog.Logger, ready func(net.Addr)) error {
	if err := checkHTTPToken(token); err != nil {
		return err
	}
	addr, err := httpListenAddr(addr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--http %s: %w", addr, err)
	}
	streamable := server.NewStreamableHTTPServer(srv, server.WithStreamableHTTPLogger(logger))
	mux := http.NewServeMux()
	origins, err := newOriginPolicy(ln.Addr(), opts.AllowedOrigins)
	if err != nil {
		ln.Close()
		return err
	}
	bodyTimeout := opts.BodyTimeout
	if bodyTimeout <= 0 {
		bodyTimeout = httpBodyTimeout
	}
	// Origin first: a browser page of a foreign origin is refused whatever it carries. The body's deadline
	// is armed before the token check, so no client holds a connection by trickling (net/http drains an
	// unread body after a 401 under the same deadline), and the body is read into memory only after it,
	// so a client without the token never makes us buffer 8 MiB.
	mux.Handle(httpEndpoint, origins.handler(logger, armBodyDeadline(bodyTimeout, logger,
		requireBearer(token, logger, readBody(bodyTimeout, httpMaxBody, logger, streamable)))))
	hs := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: SSE streams and long polls legitimately stay open. No ReadTimeout either: it
		// stays armed while the handler runs, and when it fires net/http cancels the request's context,
		// which would cut every long poll and SSE stream. Bodies get their own deadline (readBody).
		// Requests inherit ctx, so stopping the server cancels the tool calls in flight, as over stdio.
		BaseContext: func(net.Listener) context.Context { return ctx },
		ErrorLog:    slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	url := "http://" + ln.Addr().String() + httpEndpoint
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		logger.Warn("serving MCP on a non-loopback address over plain HTTP: the bearer token crosses the network "+
			"in clear text; put a TLS reverse proxy in front, or bind 127.0.0.1", "addr", ln.Addr().String())
	}
	logger.Info("serving MCP over Streamable HTTP", "url", url, "version", Version)
	if ready != nil {
		ready(ln.Addr())
	}

	select {
	case err := <-served:
		return fmt.Errorf("serve http on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpShutdownGrace)
	defer cancel()
	// The MCP side first: it ends the long-lived GET streams, which http.Server.Shutdown would wait for.
	if err := streamable.Shutdown(sctx); err != nil {
		logger.Warn("closing MCP sessions", "err", err)
	}
	if err := hs.Shutdown(sctx); err != nil {
		logger.Warn("HTTP requests still running after the grace period; closing their connections",
			"grace", httpShutdownGrace, "err", err)
		_ = hs.Close()
	}
	<-served // http.ErrServerClosed
	logger.Info("stopped serving MCP over Streamable HTTP", "url", url)
	return nil
}

// httpListenAddr defaults a missing host to loopback: ":8080" listens on 127.0.0.1:8080, not on every
// interface.
func httpListenAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--http %q: want HOST:PORT or :PORT: %w", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// checkHTTPToken refuses a missing or weak token. The token itself never appears in the error.
func checkHTTPToken(token string) error {
	if token == "" {
		return fmt.Errorf("--http needs a bearer token: set %s or pass --http-token-file "+
			"(for example: openssl rand -hex 32 > token && chmod 600 token)", httpTokenEnv)
	}
	if len(token) < httpMinToken {
		return fmt.Errorf("the HTTP bearer token is %d characters long: use at least %d (openssl rand -hex 32)", len(token), httpMinToken)
	}
	for _, c := range []byte(token) {
		if c <= ' ' || c > '~' {
			return errors.New("the HTTP bearer token must be printable ASCII without spaces (openssl rand -hex 32)")
		}
	}
	return nil
}

// loadHTTPToken returns the bearer token for --http: the contents of file, trimmed, when file is set;
// otherwise SANDBOX_MCP_HTTP_TOKEN. Setting both is an error (which one wins would be a guess). The file
// must be a regular file that others cannot read (no o+r bit). An empty result is returned as is:
// serveHTTP refuses it.
func loadHTTPToken(getenv func(string) string, file string) (string, error) {
	env := strings.TrimSpace(getenv(httpTokenEnv))
	if file == "" {
		return env, nil
	}
	if env != "" {
		return "", fmt.Errorf("both %s and --http-token-file are set: use one", httpTokenEnv)
	}
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("--http-token-file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat() // of the file opened, not of whatever the path names by now
	if err != nil {
		return "", fmt.Errorf("--http-token-file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("--http-token-file %s is not a regular file", file)
	}
	if fi.Mode().Perm()&0o004 != 0 {
		return "", fmt.Errorf("--http-token-file %s is readable by every user (mode %04o): chmod 600 %s", file, fi.Mode().Perm(), file)
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return "", fmt.Errorf("--http-token-file %s: %w", file, err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("--http-token-file %s is empty", file)
	}
	return token, nil
}

// requireBearer lets a request through to next only with "Authorization: Bearer <token>". The comparison
// is of SHA-256 digests in constant time, so neither the token's content nor its length leaks through
// timing. Failures get 401 with a WWW-Authenticate challenge (RFC 6750) and a JSON body, and are logged
// without the header's value.
func requireBearer(token string, logger *slog.Logger, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok {
			logger.Warn("HTTP request without a bearer token", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
			unauthorized(w, `Bearer realm="sandbox-mcp"`, "unauthorized",
				"this server requires Authorization: Bearer <token> (the token the server was started with)")
			return
		}
		sum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			logger.Warn("HTTP request with a wrong bearer token", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
			unauthorized(w, `Bearer realm="sandbox-mcp", error="invalid_token"`, "invalid_token", "the bearer token is not valid")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearerToken extracts the token of an Authorization header; the scheme is case-insensitive (RFC 7235).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

func unauthorized(w http.ResponseWriter, challenge, code, description string) {
	h := w.Header()
	h.Set("WWW-Authenticate", challenge)
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}
