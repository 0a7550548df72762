package acp

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// UnixClient returns an HTTP client whose every connection goes to the unix socket at path, whatever the
// request URL's host: the Docker backend's socket transport, where the relay in the container listens on
// a socket in a host folder the container can write to (see dialUnix for why the path is opened with care).
// Clients are shared per path, so that sessions of one sandbox share one connection pool.
func UnixClient(path string) *http.Client {
	unixMu.Lock()
	defer unixMu.Unlock()
	if c, ok := unixClients[path]; ok {
		return c
	}
	c := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialUnix(ctx, path)
		},
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}}
	unixClients[path] = c
	return c
}

var (
	unixMu      sync.Mutex
	unixClients = map[string]*http.Client{}
)
