# mqlive — every target a contributor needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BUILD       ?= .build
HTTP_ADDR   ?= :8080
MQTT_LISTEN ?= :1883
DEVICES     ?= 4
INTERVAL    ?= 2s
SEED        ?= 1
GO          ?= go
# bench-load: which workloads, and extra mqlive-sim load flags (e.g. --steps)
LOAD_WORKLOADS ?= w1,w2,w3
LOAD_FLAGS  ?=
# Tests and `make run` install what they need on Debian/Ubuntu (as root or
# through sudo); set NO_INSTALL=1 to skip that and manage packages yourself.
NO_INSTALL  ?=

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
MQTT_PORT = $(lastword $(subst :, ,$(MQTT_LISTEN)))

.PHONY: help build wasm run cluster test test-go test-js lint bench bench-load bench-dashboard bench-sdk fuzz grafana deps deps-test deps-js clean

## help: list the targets
help:
	@grep -hE '^## [a-z-]+:' $(MAKEFILE_LIST) | sed -e 's/^## //' | awk -F': ' '{printf "  %-10s %s\n", $$1, $$2}'

## build: build the bridge (mqlive), the simulator (mqlive-sim) and mqlive-token into .build/, with the browser SDK embedded
build: wasm
	@mkdir -p $(BUILD)
	$(GO) build -trimpath -o $(BUILD)/mqlive ./bridge/cmd/mqlive
	$(GO) build -trimpath -o $(BUILD)/mqlive-token ./bridge/cmd/mqlive-token
	$(GO) build -trimpath -o $(BUILD)/mqlive-sim ./simulator/cmd/mqlive-sim

## wasm: build the WASM SDK into sdk-js/dist/ and dashboard/static/sdk/ (and the dashboard's chart library)
wasm: deps-js
	@bash sdk-js/scripts/build.sh

# deps-js: sdk-js's node modules (uPlot for the dashboard's charts, the test
# tools), installed when missing or older than the lockfile.
deps-js:
	@cd sdk-js && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; }

## run: start the bridge with its embedded broker and a simulated fleet; prints the dashboard URL
run: build
	@$(BUILD)/mqlive --dev --http-addr '$(HTTP_ADDR)' --mqtt-listen '$(MQTT_LISTEN)' & bridge=$$!; \
	trap 'kill $$bridge $$sim 2>/dev/null; wait' EXIT INT TERM; \
	for i in $$(seq 100); do kill -0 $$bridge 2>/dev/null || { echo "mqlive did not start (see above). Ports: make run HTTP_ADDR=:8081 MQTT_LISTEN=:1884"; exit 1; }; \
	  (exec 3<>/dev/tcp/127.0.0.1/$(MQTT_PORT)) 2>/dev/null && break; sleep 0.1; done; \
	$(BUILD)/mqlive-sim --url tcp://127.0.0.1:$(MQTT_PORT) --devices $(DEVICES) --interval $(INTERVAL) --seed $(SEED) & sim=$$!; \
	wait $$bridge

## cluster: run a local cluster (redis-server, mosquitto, 3 bridges on :8081-8083, nginx on :8080, simulator); prints the dashboard URL
cluster: build
	@BUILD='$(BUILD)' NO_INSTALL='$(NO_INSTALL)' DEVICES='$(DEVICES)' INTERVAL='$(INTERVAL)' SEED='$(SEED)' bash bridge/cmd/cluster.sh

## test: run every test (Go with -race, fuzz seeds, WASM vet, Node and headless-Chromium SDK/dashboard tests); under CI=true a missing system binary fails instead of skipping
test: deps-test test-go test-js

## test-go: Go tests only (race detector on)
test-go:
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./wasm/...
	$(GO) test -race -count=1 -timeout 15m ./...
	@# Budgets and timing the race detector distorts (stack sizes, allocation
	@# counts, write coalescing at full speed), once more without it.
	$(GO) test -count=1 -timeout 5m -run '^(TestIdleConnectionBudget|TestSlowStreamConsumerIsClosed4009OthersKeepUp|TestSlowLatestConsumerIsConflatedNotDisconnected)$$' ./bridge/
	$(GO) test -count=1 -timeout 5m -run 'Allocate|Hot|Pace|Urgent|Take|Frame' ./bridge/ws/ ./bridge/hub/

## test-js: the SDK in Node and the dashboard in headless Chromium, against real bridges
test-js: build
	cd sdk-js && MQLIVE_BIN=$(CURDIR)/$(BUILD)/mqlive MQLIVE_SIM_BIN=$(CURDIR)/$(BUILD)/mqlive-sim npm test

## lint: gofmt, go vet (native and js/wasm)
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./wasm/...

## bench: run the benchmarks (decoders, hub fan-out, end to end over real sockets, three nodes on redis-server beside one)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./devices/... ./bridge/...

## bench-load: measure a fresh `mqlive --dev` from outside with mqlive-sim load: W1 (5,000 sockets, one channel, 1→30 msg/s), W2 (5,000 sockets, 1,000 channels, 2,000 msg/s), W3 (19,500 idle sockets); one markdown table, ~3 min (LOAD_FLAGS=--reference adds the reference server's column, ~6 min)
bench-load: build
	$(BUILD)/mqlive-sim load --bridge-bin $(BUILD)/mqlive --workloads $(LOAD_WORKLOADS) --timeout 10m $(LOAD_FLAGS)

## bench-dashboard: the fleet view in headless Chromium: 10,000 devices at 2,000 Readings/s (frame times, long tasks, filter/sort ms)
bench-dashboard: build
	cd sdk-js && MQLIVE_BIN=$(CURDIR)/$(BUILD)/mqlive node test/fleet.bench.mjs

## bench-sdk: the SDK's own cost per message in Node (WASM core + facade + device table, no network)
bench-sdk: build
	cd sdk-js && node test/sdk.bench.mjs

## fuzz: run each fuzz target for FUZZTIME (default 20s)
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-20s} $$pkg || exit 1; \
	  done; done

## grafana: regenerate grafana/dashboards/*.json from the dashboards-as-code in grafana/
grafana:
	$(GO) run ./grafana/cmd/gen

## deps: install what `make test` needs (mosquitto, redis-server, nginx, chromium, prometheus, protoc, node modules)
deps: deps-test

deps-test: deps-js
	@missing=(); command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto); \
	[ -x /usr/bin/redis-server ] || missing+=(redis-server); \
	[ -x /usr/sbin/nginx ] || missing+=(nginx); \
	[ -x /usr/bin/chromium ] || missing+=(chromium); \
	[ -x /usr/bin/prometheus ] || missing+=(prometheus); \
	[ -x /usr/bin/protoc ] || missing+=(protobuf-compiler); \
	if [ $${#missing[@]} -gt 0 ]; then \
	  if [ -n "$(NO_INSTALL)" ]; then echo "missing: $${missing[*]} (NO_INSTALL set)"; \
	    if [ "$$CI" = true ]; then echo "CI=true: the tests that need them would fail"; exit 1; fi; \
	  else echo "installing $${missing[*]}"; $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq "$${missing[@]}" >/dev/null; fi; fi

## clean: remove build products
clean:
	rm -rf $(BUILD) sdk-js/dist dashboard/static/sdk
