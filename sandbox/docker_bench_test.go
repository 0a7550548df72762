package sandbox

import (
	"fmt"
	"testing"
)

// Figures for the Docker backend against a real engine (network none, exec transport):
//
//	go test ./sandbox/ -run '^$' -bench Docker -benchtime 20x

func BenchmarkDockerExec(b *testing.B) {
	image := dockerTestEngine(b)
	d := dockerTestBackend(b, image, DockerOptions{Network: "none"})
	name := dockerTestName(b)
	if _, err := d.Create(b.Context(), Spec{Name: name, Workspace: b.TempDir()}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := d.Exec(b.Context(), name, ExecSpec{Args: []string{"true"}}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDockerCreateRemove(b *testing.B) {
	image := dockerTestEngine(b)
	d := dockerTestBackend(b, image, DockerOptions{Network: "none"})
	base, ws := dockerTestName(b), b.TempDir()
	i := 0
	for b.Loop() {
		i++
		name := fmt.Sprintf("%s-%d", base, i)
		b.Cleanup(func() { dockerCLI(b, "rm", "-f", "--", name) })
		if _, err := d.Create(b.Context(), Spec{Name: name, Workspace: ws}); err != nil {
			b.Fatal(err)
		}
		if err := d.Remove(b.Context(), name); err != nil {
			b.Fatal(err)
		}
	}
}
