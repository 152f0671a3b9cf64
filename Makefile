# floe — build, test, benchmark.
#
#   make test    everything CI runs: vet, staticcheck, unit/integration tests
#                with -race (real NATS, real S3 via versitygw, real SQLite),
#                and the interop tier (PyIceberg and Spark read the tables)
#   make bench   throughput and peak memory, per stage and end to end
#   make build   bin/floe
#   make plugins the example plugins, bin/plugins/<name>-<lang>.wasm
#
# Every tool is installed by the targets themselves (go install / pip), so a
# fresh machine needs only Go, Python 3, Java 17 and Maven.

GO        ?= go
GOBIN     ?= $(shell $(GO) env GOPATH)/bin
VERSITYGW := $(GOBIN)/versitygw
STATICCHECK := $(GOBIN)/staticcheck
VERSITYGW_VERSION   := v1.8.0
STATICCHECK_VERSION := v0.8.2

.PHONY: build test unit lint interop tools plugins plugins-go plugins-rust bench bench-stages bench-e2e bench-merge bench-plugins clean demo

build:
	$(GO) build -o bin/floe ./cmd/floe

tools: $(VERSITYGW) $(STATICCHECK)

$(VERSITYGW):
	$(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

$(STATICCHECK):
	$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# The example plugins and the guest SDKs' builds, into bin/plugins/
# (<name>-<lang>.wasm). plugins-rust installs Debian's rustc with its
# wasm32 standard library when it is missing.
plugins: plugins-go plugins-rust

plugins-go:
	bash plugins/build-go.sh bin/plugins

plugins-rust:
	bash plugins/build-rust.sh bin/plugins

lint: $(STATICCHECK)
	$(GO) vet ./...
	$(STATICCHECK) ./...

# FLOE_S3TEST_REQUIRE makes the S3 tests fail, not skip, without versitygw;
# FLOE_PLUGINS_REQUIRE likewise for the Rust plugins (plugins-rust installs
# the toolchain). The tests take the example plugins from FLOE_PLUGINS_DIR
# instead of building them again.
unit: $(VERSITYGW) plugins
	FLOE_S3TEST_REQUIRE=1 FLOE_PLUGINS_REQUIRE=1 FLOE_PLUGINS_DIR="$(CURDIR)/bin/plugins" PATH="$(GOBIN):$$PATH" $(GO) test -race -timeout 30m ./...

interop: build
	bash interop/run.sh

test: lint unit interop

# BENCH_ITEMS sets the export sizes of the end-to-end benchmark.
BENCH_ITEMS ?= 1000000 4000000
bench: bench-stages bench-e2e bench-merge bench-plugins

bench-stages:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./internal/ddb/ ./internal/arrowconv/ ./internal/schema/ ./internal/natsbus/ ./committer/ ./internal/exportgen/

bench-e2e: build
	bash scripts/bench.sh $(BENCH_ITEMS)

# Applying an incremental export of BENCH_MERGE_CHANGES changes to a table
# of BENCH_MERGE_ITEMS rows (v2 and v3): time, peak RSS, scan rows/s; then
# four more, and floe maintain (time, peak RSS, scan rows/s after it).
BENCH_MERGE_ITEMS   ?= 2000000
BENCH_MERGE_CHANGES ?= 100000
bench-merge: build
	bash scripts/bench-merge.sh $(BENCH_MERGE_ITEMS) $(BENCH_MERGE_CHANGES)

# Plugins: ns/item per example and language (the guest call alone and with
# the host's encoding and checks), then floe run on BENCH_PLUGIN_ITEMS items
# without a plugin and with pass-through and mask plugins, side by side.
BENCH_PLUGIN_ITEMS ?= 1000000
bench-plugins: build plugins
	FLOE_PLUGINS_REQUIRE=1 $(GO) test -run '^$$' -bench . -benchtime 2s ./plugins/examples/ ./plugins/rust/ ./transformer/
	bash scripts/bench-plugins.sh $(BENCH_PLUGIN_ITEMS)

clean:
	rm -rf bin .bench .venv-interop

# The README's first command: generate a sample full export and three
# incremental exports, load and merge them on the
# embedded default (in-process NATS, SQLite catalog, local warehouse), and
# show the table.
DEMO ?= /tmp/floe-demo
demo: build
	rm -rf $(DEMO)
	bin/floe gen --out $(DEMO)/export --items 100000 --incrementals 3 --changes 5000
	bin/floe run --export $(DEMO)/export/AWSDynamoDB --warehouse $(DEMO)/warehouse --table demo.orders --key pk,sk
	bin/floe table info --warehouse $(DEMO)/warehouse --table demo.orders
