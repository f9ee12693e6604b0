# rnnstream — the commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
export KAFKA_BROKERS ?= 127.0.0.1:9092
export REDIS_URL ?= redis://127.0.0.1:6379
RNNSTREAM := node bin/rnnstream.js

.PHONY: demo test test-unit test-integration test-fault lint format build install services services-down data model model-cv bench bench-quick bench-e2e bench-gpu clean

# Dependencies (npm ci also builds dist/ through `prepare`). Re-run when the lockfile changes. The CPU binaries
# of onnxruntime-node are inside its package: its install script must never download CUDA. .npmrc says so for a
# plain `npm ci`, through a project config npm 11 warns it will stop passing on; the variable says it for make.
node_modules/.package-lock.json: package-lock.json
	ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.package-lock.json

dist/pipeline/cli.js: install $(shell find core model operators pipeline bench -name '*.ts' 2>/dev/null) tsconfig.json tsconfig.build.json
	npm run build --silent
	@touch $@

build: dist/pipeline/cli.js

## Streams a sample feed of interleaved sessions through `run` with embedded defaults (no servers).
demo: build
	$(RNNSTREAM) run --in file:examples/demo-feed.jsonl --out - --log-level warn | $(RNNSTREAM) pretty

## The whole suite: starts Kafka and Redis locally (deploy/services.sh), then unit, integration and fault tests.
test: build services
	node scripts/run-tests.mjs unit
	# One file at a time: the integration and fault tests run real brokers, Redis and worker processes whose
	# group rebalances and drains ran past their bounds when two such files shared the 2 cores.
	TEST_CONCURRENCY=1 node scripts/run-tests.mjs integration fault

test-unit: build
	node scripts/run-tests.mjs unit

test-integration: build services
	node scripts/run-tests.mjs integration

test-fault: build services
	node scripts/run-tests.mjs fault

lint: install
	npx biome check .
	npx tsc -p tsconfig.json --noEmit
	# Folders depend one way (core ← model ← operators ← pipeline): .dependency-cruiser.cjs
	npx depcruise core model operators pipeline bench test scripts --config .dependency-cruiser.cjs

format: install
	npx biome check --write .

services:
	bash deploy/services.sh up

services-down:
	bash deploy/services.sh down

data:
	bash scripts/data.sh

model: build
	bash scripts/model.sh

model-cv: build
	bash scripts/model.sh cv

bench: build services
	bash bench/run.sh

bench-quick: build services
	BENCH_QUICK=1 bash bench/run.sh

bench-e2e: build services
	bash bench/e2e.sh

bench-gpu: install
	bash bench/gpu/run.sh

clean:
	rm -rf dist
