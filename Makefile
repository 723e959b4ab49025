# gifchat — see README.md.
SHELL := /bin/bash
CARGO ?= cargo
PG_HOST ?= 127.0.0.1
PG_PORT ?= 5432

.PHONY: run build test test-rust lint fmt openapi check-pg api-fuzz clean

## Build and serve on http://localhost:8005 with SQLite under ./data.
run:
	$(CARGO) run --release -p gifchat -- serve

## The release binary: target/release/gifchat.
build:
	$(CARGO) build --release -p gifchat

## Every test, on SQLite and on PostgreSQL.
test: check-pg test-rust

test-rust:
	$(CARGO) test --workspace --locked

# Says loudly when the PostgreSQL half of the suite cannot run; under CI the
# tests themselves then fail.
check-pg:
	@if ! pg_isready -q -h $(PG_HOST) -p $(PG_PORT) 2>/dev/null; then \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	  echo "!!! PostgreSQL is not reachable on $(PG_HOST):$(PG_PORT):"; \
	  echo "!!! the PostgreSQL half of every test will be SKIPPED (SQLite still runs)."; \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	fi

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Regenerate openapi.yaml from the code.
openapi:
	$(CARGO) run -q -p gifchat -- openapi > openapi.yaml

## Property-based API testing against a live server with schemathesis.
api-fuzz:
	bash scripts/api-fuzz.sh

clean:
	$(CARGO) clean
