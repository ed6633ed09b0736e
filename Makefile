# srutest — every target here is a README command.
GO      ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
BIN     := bin
# srutest becomes the guest's /init and srutest-pair runs in the guest: both static.
export CGO_ENABLED := 0
# Without DWARF and the symbol table srutest is 15 MB instead of 21 MB: 6 MB
# less in every initramfs the guest kernel unpacks before it runs /init
# (panics still print file:line: that comes from the pclntab).
GOLDFLAGS := -s -w

.PHONY: all build deps deps-test demo backport backport-ubuntu ubuntu test test-unit test-e2e fuzz lint bench clean
.PHONY: lint-deploy

all: build

build:
	$(GO) build -ldflags='$(GOLDFLAGS)' -o $(BIN)/srutest ./cmd/srutest
	$(GO) build -ldflags='$(GOLDFLAGS)' -o $(BIN)/srutest-pair ./cmd/srutest-pair

deps:
	./scripts/install-deps.sh

# Tests also build the negative-control kernel from the distribution's kernel
# source (Debian: linux-source-6.12; Ubuntu: the series' linux-source), and run
# net/mptcp selftests (their guest tools come from the host).
deps-test:
	./scripts/install-deps.sh --kernel-build --selftests

# The plan comes from the host (srutest host plan demo): on Debian demo.yaml
# (Debian 6.1 + 6.12), on Ubuntu the series' GA kernel (release pocket) against
# its newest kernel from the host's apt sources. DEMO_PLAN=<file> overrides.
DEMO_PLAN ?=
demo: deps build
	@plan='$(DEMO_PLAN)'; [ -n "$$plan" ] || plan=$$($(BIN)/srutest host plan demo) || exit 1; \
	echo "$(BIN)/srutest run $$plan --out results/demo"; \
	$(BIN)/srutest run "$$plan" --out results/demo

# Negative control: the distribution's kernel source built with and without
# 648de37416b3 (Debian: backport.yaml, linux-source-6.12; Ubuntu: generated
# from the series' linux-source). BACKPORT_PLAN=<file> overrides.
BACKPORT_PLAN ?=
backport: deps-test build
	@plan='$(BACKPORT_PLAN)'; [ -n "$$plan" ] || plan=$$($(BIN)/srutest host plan backport) || exit 1; \
	echo "$(BIN)/srutest run $$plan --out results/backport"; \
	$(BIN)/srutest run "$$plan" --out results/backport

# The bug's history on real Ubuntu kernels: per series, the kernel before the
# fix against -updates (needs archive.ubuntu.com; downloads ~150-300 MB per
# kernel into the cache once; not part of make test). Every series runs; the
# exit status is the worst one.
UBUNTU_SERIES ?= jammy noble plucky resolute
ubuntu: deps build
	@rc=0; for s in $(UBUNTU_SERIES); do \
	  echo "== $$s"; \
	  $(BIN)/srutest run $$s.yaml --check history --out results/ubuntu-$$s || rc=$$?; \
	done; exit $$rc

# Backport validation on Ubuntu's own trees (linux-source-<x.y.z> fetched
# and verified through the archive) for noble, plucky and jammy: the GA tree
# as shipped, the GA tree + 648de37416b3, the current tree with it reverted.
# Not part of make test: it needs the real archive and builds six kernels
# (build trees cached under <cache>/kbuild; see README for the cost).
BACKPORT_SERIES ?= noble plucky jammy
backport-ubuntu: deps-test build
	@rc=0; for s in $(BACKPORT_SERIES); do \
	  $(BIN)/srutest run backport-ubuntu/$$s.yaml --out results/backport-$$s || rc=$$?; \
	done; exit $$rc

# Everything CI runs: lint, unit tests (race detector), end-to-end tests that
# boot real Debian kernels under QEMU (TCG when there is no KVM), including
# the negative control: linux-source-6.12 built with and without 648de37416b3.
test: deps-test lint lint-deploy test-unit test-e2e

lint:
	@out=$$(gofmt -s -l .); if [ -n "$$out" ]; then echo "gofmt -s needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff

# CI deployment files (issue 11): actionlint on .github/ (pinned as a tool in
# deploy/go.mod; it runs shellcheck on run: scripts when installed), and the
# Kubernetes manifests in deploy/k8s decoded strictly into k8s.io/api types.
# deploy/ is its own module so srutest does not depend on either.
lint-deploy:
	cd deploy && $(GO) tool actionlint -color=false
	cd deploy && $(GO) vet ./... && $(GO) mod tidy -diff && $(GO) test -count=1 ./...

test-unit:
	CGO_ENABLED=1 $(GO) test -race -short -count=1 ./...

# SRUTEST_E2E_REQUIRED turns "prerequisite missing" skips into failures: in
# CI the end-to-end path must run. TestRealQEMU boots a real Debian vmlinuz
# without SSH (marker, panic, deadline, QMP); TestRealDebianKernelsViaApt
# extracts real kernel packages. SRUTEST_CACHE_MAX bounds the tests' shared
# cache (every new srutest binary means new ~40 MB images per kernel).
test-e2e: build
	SRUTEST_CACHE_MAX=$${SRUTEST_CACHE_MAX:-10G} SRUTEST_E2E_REQUIRED=1 SRUTEST_TEST_KERNEL=$$(SRUTEST=$(BIN)/srutest ./scripts/test-kernel.sh) \
	$(GO) test -count=1 -timeout 40m -run 'E2E|TestRealQEMU|TestRealDebianKernelsViaApt' -v ./e2e/ ./vm/ ./images/...

# Short fuzzing pass over every Fuzz target in the module (FUZZTIME each).
FUZZTIME ?= 10s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test -run NONE -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg; \
	  done; \
	done

bench: build
	$(BIN)/srutest bench boot
	$(BIN)/srutest bench matrix

clean:
	rm -rf $(BIN) results
