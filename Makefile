# gresec: the two commands a newcomer needs are `make demo` and `make test`
# (both as root: they create network namespaces and TUN devices).

export PATH := $(PATH):/usr/local/go/bin:$(shell go env GOPATH 2>/dev/null || echo /root/go)/bin
GO ?= go

.PHONY: all build demo test deps lint unit fuzz bench soak scale clean

all: build

build:
	$(GO) build -o gresec ./cmd/gresec

# The demo: the article's topology in network namespaces (see README).
demo: build
	./gresec lab

deps:
	./scripts/install-test-deps

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	staticcheck ./...

# The whole suite: unit tests (with the race detector), fuzz seed corpora,
# namespace tests against real tools. With CI=true a missing prerequisite
# fails instead of skipping.
test: deps lint
	$(GO) test -race -count=1 -timeout 15m ./internal/...
	$(GO) test -count=1 -timeout 25m ./cmd/... ./test/...

# Short fuzzing runs of every fuzz target (seeds also run in `make test`).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./internal/...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Figures, never assertions (issue 6): ESP seal/open next to the raw cipher
# cost, then one table side by side in one run, between two namespaces over a
# veth: the bare veth, wireguard-go (installed at go.mod's pin), gresec plain
# and protected (static SAs) over IPv4 and over IPv6, strongSwan
# kernel-libipsec; a UDP flood; the
# one-core crypto bound; the issue's targets PASS/FAIL. Root; ~6 minutes.
bench: deps
	./scripts/install-bench-deps
	$(GO) test -run '^$$' -bench . -benchtime 300ms -benchmem ./internal/esp/ ./internal/gre/ ./internal/packet/ ./internal/dataplane/
	$(GO) test -run '^$$' -bench TunnelThroughput -benchtime 1x -timeout 30m ./test/e2e/

# The soak (issue 10; never in CI: build tag soak): two routers of the lab
# with rekeys about every 30 s, DPD, a steady ping and a 50 Mbit/s TCP stream
# for SOAK_DURATION; it reports lost pings, TCP retransmissions, rekeys, and
# each daemon's RSS, threads and open files at start and end, and fails if
# they grow. Root. SOAK_REKEY and SOAK_RATE change the rekey period and rate.
SOAK_DURATION ?= 10m
soak: deps
	SOAK_DURATION=$(SOAK_DURATION) $(GO) test -tags soak -count=1 -v -run '^TestSoak$$' -timeout 0 ./test/e2e/

# Hub scale (issue 11; figures, never assertions, like make bench): one
# table from one run. A hub daemon with 1000, then 10000, unprotected
# tunnels from one Loopback0: time until all are up/up, RSS, idle CPU,
# `show ip interface brief`, a reload of one tunnel while pings cross two
# others, iperf3 through tunnel 1 against a single-tunnel daemon, what a
# tunnel costs (fds, threads, memory); a hub with 200 IPsec-protected
# tunnels to 200 gresec spokes in namespaces of their own, both start
# orders; IKE setups as responder, gresec beside strongSwan's charon; the
# issue's targets PASS/FAIL. Root; each setup is cut off after
# SCALE_TIMEOUT (3m). SCALE_ONLY=hub,spokes,ike,big runs some setups;
# SCALE_N, SCALE_BIG, SCALE_SPOKES and the other knobs are described at
# BenchmarkScale (test/e2e/scale_test.go). TestScaleShort, in make test,
# is its short form.
scale: deps
	$(GO) test -run '^$$' -bench '^BenchmarkScale$$' -benchtime 1x -timeout 90m ./test/e2e/

clean:
	rm -f gresec
