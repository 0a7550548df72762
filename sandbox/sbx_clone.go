package sandbox

// NativeCloner is implemented by backends with a clone mode of their own: `sbx create --clone`, "a private
// in-container clone of the host Git repository (mounted read-only) … the agent's commits are accessible
// via the sandbox-<name> git remote on the host" (sbx v0.45.1 help; docs/upstream/sbx-cli.json).
type NativeCloner interface {
	// NativeClone reports whether Spec.Clone works on this backend as installed.
	NativeClone() bool
}

// sbxCloneVersion is the first sbx with --clone (docs/upstream/docker-sandboxes.md §13: "--clone (0.31+)").
const sbxCloneVersion = "0.31.0"

// NativeClone is true once `sbx version` said 0.31 or later; an unknown version says no, and the manager
// then takes the bundle path, which works on every release.
func (s *Sbx) NativeClone() bool {
	known, ok := s.c.ver.atLeast(sbxCloneVersion)
	return known && ok
}
