package relay

import (
	"debug/elf"
	"errors"
	"fmt"
)

// ErrNotUsable: the executable cannot run as the relay inside a container of the engine's platform.
var ErrNotUsable = errors.New("cannot serve as the relay")

// elfArch maps ELF machines to Docker's architecture names (`docker version` .Server.Arch).
var elfArch = map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64", elf.EM_386: "386", elf.EM_ARM: "arm",
	elf.EM_RISCV: "riscv64", elf.EM_PPC64: "ppc64le", elf.EM_S390: "s390x"}

// CheckExecutable reports whether the file at path can run as the relay in a container of platform
// os/arch (as the engine reports them): a statically linked Linux ELF of that architecture. Images share
// no C library with the host, so a dynamically linked build (the default with cgo) cannot run in them.
func CheckExecutable(path, os, arch string) error {
	if os != "linux" {
		return fmt.Errorf("the engine runs %s containers, not linux: %w", os, ErrNotUsable)
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s is not a Linux executable (%v): %w", path, err, ErrNotUsable)
	}
	defer f.Close()
	if got := elfArch[f.Machine]; got != arch {
		return fmt.Errorf("%s is built for %s, the engine runs %s: %w", path, f.Machine, arch, ErrNotUsable)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked (build it with CGO_ENABLED=0): %w", path, ErrNotUsable)
		}
	}
	return nil
}
