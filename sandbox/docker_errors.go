package sandbox

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// dockerErr wraps a failed CLI call with op, mapping "no such container" (for name, or any when name is
// "") to ErrNotFound and an unreachable engine to ErrUnavailable.
func dockerErr(op, name string, err error) error {
	stderr := dockerStderr(err)
	switch {
	case dockerNoSuch(stderr, name):
		return Errorf(NotFound, "%s: no such container", op)
	case dockerUnreachable(stderr):
		return Errorf(Unavailable, "%s: %s: start Docker, set DOCKER_HOST or pass --docker-context", op, tail(stderr, 200))
	}
	return fmt.Errorf("%s: %w", op, err)
}

func dockerStderr(err error) string {
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Stderr
	}
	return ""
}

// dockerNoSuch reports whether the CLI said the container does not exist: "Error response from daemon: No
// such container: X" (28.2 and 20.10), or "No such object: X" from inspect without --type.
func dockerNoSuch(stderr, name string) bool {
	for _, p := range []string{"No such container: ", "No such object: "} {
		if name == "" && strings.Contains(stderr, p) || name != "" && strings.Contains(stderr, p+name) {
			return true
		}
	}
	return false
}

// dockerUnreachableRE matches the CLI's "no engine" messages: a local socket nobody listens on, a remote
// DOCKER_HOST that refuses, and a --context that does not exist.
var dockerUnreachableRE = regexp.MustCompile(`Cannot connect to the Docker daemon|error during connect|` +
	`unable to resolve docker endpoint|context "[^"]*": context not found`)

func dockerUnreachable(stderr string) bool { return dockerUnreachableRE.MatchString(stderr) }
