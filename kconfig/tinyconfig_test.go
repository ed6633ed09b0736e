package kconfig_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// build-kernel.sh configures with KCONFIG_CONFIG pointing at its own file.
// Trees before v5.17 (jammy's 5.15) run tinyconfig's second step as
// `merge_config.sh -m .config`, ignoring KCONFIG_CONFIG, and fail with
// "The base file '.config' does not exist"; for them the script does
// tinyconfig's two steps itself (allnoconfig on tiny-base.config, then the
// tiny fragments merged into its file). Newer trees keep `make tinyconfig`.
// Fake trees whose Makefile records what kconfig was asked.
func TestBuildScriptTinyconfigOldAndNewTrees(t *testing.T) {
	needBuildTools(t)
	bz, err := filepath.Abs("../images/testdata/vmlinuz-6.1.0-56-cloud-amd64.head")
	if err != nil {
		t.Fatal(err)
	}
	makefile := strings.Join([]string{
		"tinyconfig:",
		"\t@echo tinyconfig KCONFIG_CONFIG=$(KCONFIG_CONFIG) >> $(O)/calls.log",
		"\t@echo CONFIG_FROM_TINYCONFIG=y > $(O)/$(KCONFIG_CONFIG)",
		"allnoconfig:",
		"\t@echo allnoconfig KCONFIG_CONFIG=$(KCONFIG_CONFIG) KCONFIG_ALLCONFIG=$(KCONFIG_ALLCONFIG) >> $(O)/calls.log",
		"\t@echo CONFIG_FROM_ALLNOCONFIG=y > $(O)/$(KCONFIG_CONFIG)",
		"olddefconfig:",
		"\t@:",
		"bzImage:",
		"\t@mkdir -p $(O)/arch/x86/boot && cp " + bz + " $(O)/arch/x86/boot/bzImage",
		"kernelrelease:",
		"\t@echo 5.15.0",
		"",
	}, "\n")
	// merge_config.sh -m <base> <fragments…>: appends, and says where it ran.
	merge := "#!/bin/sh\n[ \"$1\" = -m ] || exit 2\nbase=$2; shift 2\necho \"merge $base in $(basename \"$PWD\")\" >> calls.log\ncat \"$@\" >> \"$base\"\n"
	for _, tc := range []struct {
		name, kconfigMakefile string
		wantCalls             []string
		wantConfig            []string
	}{
		{"5.15: tiny.config merges into a literal .config",
			"%.config: $(obj)/conf\n\t$(Q)$(CONFIG_SHELL) $(srctree)/scripts/kconfig/merge_config.sh -m .config $(configfiles)\n",
			[]string{"allnoconfig KCONFIG_CONFIG=.config.srutest-new KCONFIG_ALLCONFIG=kernel/configs/tiny-base.config", "merge .config.srutest-new in build"},
			[]string{"CONFIG_FROM_ALLNOCONFIG=y", "CONFIG_TINY=y", "CONFIG_X86_TINY=y", "CONFIG_MPTCP=y"}},
		{"6.x: tinyconfig honours KCONFIG_CONFIG",
			"%.config: $(obj)/conf\n\t$(Q)$(CONFIG_SHELL) $(srctree)/scripts/kconfig/merge_config.sh -m $(KCONFIG_CONFIG) $(config-fragments)\n",
			[]string{"tinyconfig KCONFIG_CONFIG=.config.srutest-new"},
			[]string{"CONFIG_FROM_TINYCONFIG=y", "CONFIG_MPTCP=y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tree := filepath.Join(dir, "tree")
			for name, body := range map[string]string{
				"Makefile":                        makefile,
				"Kconfig":                         "",
				"scripts/kconfig/Makefile":        tc.kconfigMakefile,
				"scripts/kconfig/merge_config.sh": merge,
				"kernel/configs/tiny-base.config": "CONFIG_EMBEDDED=y\n",
				"kernel/configs/tiny.config":      "CONFIG_TINY=y\n",
				"arch/x86/configs/tiny.config":    "CONFIG_X86_TINY=y\n",
			} {
				p := filepath.Join(tree, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			out, cache := filepath.Join(dir, "out"), filepath.Join(dir, "cache")
			cmd := exec.Command("bash", "build-kernel.sh", "--source", tree, "--out", out, "--cache", cache, "--jobs", "1")
			if output, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("build-kernel.sh: %v\n%s", err, output)
			}
			builds, _ := filepath.Glob(filepath.Join(cache, "build-*", "calls.log"))
			if len(builds) != 1 {
				t.Fatalf("calls.log: %v", builds)
			}
			calls, _ := os.ReadFile(builds[0])
			// The build dir's name is build-<key>: "in build" means merge ran there.
			got := strings.ReplaceAll(string(calls), filepath.Base(filepath.Dir(builds[0])), "build")
			for _, w := range tc.wantCalls {
				if !strings.Contains(got, w) {
					t.Errorf("kconfig calls lack %q:\n%s", w, got)
				}
			}
			if strings.Contains(tc.name, "5.15") == strings.Contains(got, "tinyconfig") {
				t.Errorf("tinyconfig called on the wrong tree:\n%s", got)
			}
			cfg, err := os.ReadFile(filepath.Join(out, "config"))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.wantConfig {
				if !strings.Contains(string(cfg), w+"\n") {
					t.Errorf("config lacks %s:\n%s", w, cfg)
				}
			}
		})
	}
}
