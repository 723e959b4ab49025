# gifchat — see README.md.
SHELL := /bin/bash
CARGO ?= cargo
PG_HOST ?= 127.0.0.1
PG_PORT ?= 5432
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
WEB_DEPS := frontend/node_modules/.installed

.PHONY: run build web test test-rust test-web check-pg browser bench bench-quick bench-build bench-media soak lint fmt openapi api-fuzz fuzz conformance clean

## Build the web app and the server, and serve on http://localhost:8005
## with SQLite under ./data.
run: web
	$(CARGO) run --release -p gifchat -- serve

## The release binary (target/release/gifchat) and the web app (frontend/dist).
build: web
	$(CARGO) build --release -p gifchat

web: $(WEB_DEPS)
	cd frontend && npm run build

$(WEB_DEPS): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

## Every test: the web app's unit and browser tests, then the server's on
## SQLite and PostgreSQL.
test: check-pg test-web test-rust

test-rust:
	$(CARGO) test --workspace --locked

test-web: $(WEB_DEPS) browser
	cd frontend && npm run check:api && npm run build
	$(CARGO) build -p gifchat --locked
	cd frontend && npx vitest run && npx playwright test

# Debian's Chromium for the browser tests, with fonts for Korean and emoji.
browser:
	@command -v chromium >/dev/null && fc-list 2>/dev/null | grep -q 'Noto Sans CJK' && fc-list 2>/dev/null | grep -qi 'Noto Color Emoji' || { \
	  echo "installing Chromium and fonts for the browser tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium fonts-noto-cjk fonts-noto-color-emoji >/dev/null; }

# Says loudly when the PostgreSQL half of the suite cannot run; under CI the
# tests themselves then fail.
check-pg:
	@if ! pg_isready -q -h $(PG_HOST) -p $(PG_PORT) 2>/dev/null; then \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	  echo "!!! PostgreSQL is not reachable on $(PG_HOST):$(PG_PORT):"; \
	  echo "!!! the PostgreSQL half of every test, and the cluster tests, will be SKIPPED."; \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	fi
	@command -v redis-server >/dev/null || echo "!!! redis-server is not installed: the cluster tests will be SKIPPED."

lint: $(WEB_DEPS)
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	cd frontend && npm run typecheck

fmt:
	$(CARGO) fmt --all

## Regenerate openapi.yaml from the code, and the web app's types from it.
openapi:
	$(CARGO) run -q -p gifchat -- openapi > openapi.yaml
	cd frontend && npm run gen:api

## Benchmarks against the Socket.IO original and a bare transport ceiling:
## every server pinned to core 0, the load generator to core 1. Prints one
## table and writes it to bench/results/latest.md. See BENCHMARKS.md.
bench: bench-build
	taskset -c 1 target/release/gifchat-bench

## The same in about two minutes, with shorter runs and fewer sizes.
bench-quick: bench-build
	taskset -c 1 target/release/gifchat-bench --quick --out bench/results/quick.md

## 10,000 sockets in rooms with light traffic for 10 minutes (SOAK_MINUTES,
## SOAK_CONNECTIONS); prints RSS and open files every minute and fails if
## either grows after the warm-up.
soak: bench-build
	taskset -c 1 target/release/gifchat-bench --soak

bench-build:
	$(CARGO) build --release -p gifchat -p gifchat-bench -p gifchat-ceiling
	cd bench/peer-socketio && ( [ -d node_modules ] || npm ci --no-audit --no-fund )

## Posters and WebP renditions on a corpus of real animated GIFs, made by
## bench/media/make_corpus.py into target/media-corpus (a venv under
## target/media-venv holds its packages): sizes against the GIF's and
## encoding time per megapixel. See BENCHMARKS.md, "GIF renditions".
bench-media:
	[ -x target/media-venv/bin/python ] || ( python3 -m venv target/media-venv && target/media-venv/bin/pip install -q -r bench/media/requirements.txt )
	target/media-venv/bin/python bench/media/make_corpus.py target/media-corpus
	$(CARGO) run --release -q -p gifchat-bench --bin gifchat-media-bench -- target/media-corpus | tee bench/results/media.md

## RFC 6455 conformance of the socket layer: Autobahn TestSuite's fuzzing
## client (cases 1-7 and 10) against an echo build of the transport; fails on
## any FAILED or WRONG CODE. Installs Autobahn (Python 2) under .conformance/.
conformance:
	bash scripts/conformance.sh

## Property-based API testing against a live server with schemathesis.
api-fuzz:
	bash scripts/api-fuzz.sh

## Each cargo-fuzz target in fuzz/ for FUZZ_SECS seconds, from the committed
## seeds (see README). libFuzzer wants nightly flags; RUSTC_BOOTSTRAP lets the
## stable toolchain take them. Not part of `make test`.
FUZZ_SECS ?= 60
FUZZ_TARGETS := envelope gif media
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/corpus/$$t && \
	  echo "fuzzing $$t for $(FUZZ_SECS) s" && \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t fuzz/corpus/$$t fuzz/seeds/$$t -- -max_total_time=$(FUZZ_SECS) || exit 1; \
	done

clean:
	$(CARGO) clean
	rm -rf frontend/dist frontend/node_modules frontend/test-results
