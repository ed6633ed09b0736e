package plan

import (
	"strings"
	"testing"
)

// TestDirNames: names that give an empty directory name (".", "..",
// non-ASCII only) or collide are refused at load — a kernel "." with a
// reproducer ".." used to make the run delete files in --out.
func TestDirNames(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"kernel dot", "kernels:\n  - {name: ., kernel: apt:x}\n", `line 2: kernel name "." gives an empty directory name`},
		{"kernel non-ascii", "kernels:\n  - {name: ядро, kernel: apt:x}\n", `kernel name "ядро" gives an empty directory name`},
		{"reproducer dotdot", "kernels:\n  - kernel: apt:x\nreproducers:\n  - {name: .., command: true}\n", `line 4: reproducer name ".." gives an empty directory name`},
		{"kernels collide", "kernels:\n  - {name: a/b, kernel: apt:x}\n  - {name: a_b, kernel: apt:y}\n", `kernel name "a_b" and "a/b" both give the directory name "a_b"`},
		{"reproducer collides with scenario", "kernels:\n  - kernel: apt:x\nreproducers:\n  - {name: join., command: true}\n", `reproducer name "join." and "join"`},
		{"keyring ignored", "keyring: /k.gpg\nkernels:\n  - kernel: apt:x\n", "keyring: is not read from plan files"},
		{"memory ignored", "memory_mb: 2048\nkernels:\n  - kernel: apt:x\n", "memory_mb: is not read from plan files"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.yaml), known)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
	if _, err := Parse([]byte("kernels:\n  - {name: noble-6.8 (updates), kernel: apt:x}\n"), known); err != nil {
		t.Errorf("ordinary name refused: %v", err)
	}
}
