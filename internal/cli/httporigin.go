package cli

// Origin validation and the body deadline of the Streamable HTTP transport (httpserve.go).
//
// The MCP specification (Streamable HTTP, security warning) says servers MUST validate the Origin header
// of every incoming connection, against DNS rebinding: a web page the user visits must not reach a local
// server through the user's browser. Browsers always send Origin on such requests; non-browser clients
// (every MCP host we know) send none. So: no Origin is allowed, an Origin of a loopback host on the
// server's own port is allowed (a local page of this server), and so is any origin given with
// --http-allowed-origins (e.g. the https origin of a TLS proxy in front). Everything else, "null"
// included, is 403. The host name in an Origin is never compared with the request's Host header: after a
// DNS rebinding both name the attacker's domain.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// originPolicy is the set of allowed origins, normalised (lower-case scheme and host, explicit port).
type originPolicy struct {
	allowed map[string]bool
}

// newOriginPolicy allows http origins of localhost, 127.0.0.1 and [::1] on the bound port, of the bound
// address itself, and extra (scheme://host[:port] each).
func newOriginPolicy(bound net.Addr, extra []string) (*originPolicy, error) {
	p := &originPolicy{allowed: map[string]bool{}}
	if tcp, ok := bound.(*net.TCPAddr); ok {
		port := strconv.Itoa(tcp.Port)
		hosts := []string{"localhost", "127.0.0.1", "::1"}
		if !tcp.IP.IsUnspecified() {
			hosts = append(hosts, tcp.IP.String())
		}
		for _, h := range hosts {
			p.allowed["http://"+net.JoinHostPort(h, port)] = true
		}
	}
	for _, o := range extra {
		n, ok := normalOrigin(o)
		if !ok {
			return nil, fmt.Errorf("--http-allowed-origins: %q is not an origin: use scheme://host[:port], e.g. https://mcp.example.com", o)
		}
		p.allowed[n] = true
	}
	return p, nil
}

// normalOrigin parses a serialised origin (RFC 6454: scheme "://" host [":" port], nothing else) into
// lower-case scheme and host with an explicit port.
func normalOrigin(o string) (string, bool) {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port), true
}

// allows reports whether a request with this Origin header value may proceed.
func (p *originPolicy) allows(origin string) bool {
	if origin == "" {
		return true
	}
	n, ok := normalOrigin(origin)
	return ok && p.allowed[n]
}

// handler refuses requests from origins not allowed with 403 and a JSON body.
func (p *originPolicy) handler(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if len(r.Header.Values("Origin")) > 1 || !p.allows(origin) {
			logger.Warn("HTTP request from an origin that is not allowed", "remote", r.RemoteAddr, "method", r.Method, "origin", truncateValue(origin))
			httpError(w, http.StatusForbidden, "forbidden_origin",
				fmt.Sprintf("Origin %q is not allowed: browser pages may reach this server only from its own loopback address or from an origin given with --http-allowed-origins", truncateValue(origin)))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hasBody reports whether a request may carry a body to read.
func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

// armBodyDeadline sets the connection's read deadline to now+timeout for a request with a body; readBody
// lifts it once the body is in.
func armBodyDeadline(timeout time.Duration, logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hasBody(r) {
			if err := http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout)); err != nil {
				logger.Warn("cannot set a read deadline on the request body", "err", err)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// readBody reads a request's whole body (at most max bytes) within timeout, then hands next the request
// with the body in memory. The deadline is the connection's read deadline, lifted again once the body is
// in, so long polls and SSE streams that follow are not cut; GET and other requests without a body pass
// straight through.
func readBody(timeout time.Duration, max int64, logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hasBody(r) {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			logger.Warn("cannot set a read deadline on the request body", "err", err)
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		if err == nil {
			// Lifted only on success: on an error the deadline stays, so that what net/http does with
			// the rest of the body after our answer is bounded too.
			_ = rc.SetReadDeadline(time.Time{})
		}
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			httpError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("request body too large: the limit is %d bytes", max))
			return
		case err != nil:
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				logger.Warn("HTTP request body not received within its deadline; connection closed", "remote", r.RemoteAddr, "timeout", timeout)
				w.Header().Set("Connection", "close")
				httpError(w, http.StatusRequestTimeout, "request_timeout", fmt.Sprintf("the request body did not arrive within %s", timeout))
				return
			}
			httpError(w, http.StatusBadRequest, "invalid_request", "reading the request body failed: "+err.Error())
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// httpError writes a JSON error body with a status, in the shape of unauthorized's.
func httpError(w http.ResponseWriter, status int, code, description string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}
