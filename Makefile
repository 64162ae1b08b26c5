# KVStream: `make demo` runs the main job on the embedded defaults, `make test` runs every test.
# Both install what they need on a fresh Debian machine (apt packages, PyPI checkers) when it is missing.

SHELL := /bin/bash
SWIFT ?= swift
RELEASE_BIN := .build/release/kvstream
APT_PACKAGES := librdkafka-dev librocksdb-dev libpq-dev liblz4-dev postgresql kcat pkg-config
PY_PACKAGES := duckdb pyarrow boto3 'moto[server]'

.PHONY: all build demo test unit-test e2e-test bench deps apt-deps py-deps clean

all: build

## deps: the Debian packages (apt-get update once, only when one is missing), the PyPI checkers and moto's
## S3-compatible server, which the unit tests start on loopback.
deps: apt-deps py-deps

apt-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

py-deps:
	@python3 -c "import duckdb, pyarrow, boto3, moto.server" 2>/dev/null || python3 -m pip install -q $(PY_PACKAGES)

build: apt-deps
	$(SWIFT) build -c release --product kvstream

## demo: both jobs on the embedded defaults, against a PostgreSQL of its own (under state/) when none answers.
demo: build py-deps
	@KVSTREAM_BIN=$(RELEASE_BIN) bash scripts/demo.sh

unit-test: apt-deps py-deps
	@mkdir -p .build
	$(SWIFT) test --parallel 2>&1 | tee .build/unit-test.log | grep -vE "^\[[0-9]+/[0-9]+\]|^Test Case .* (started|passed)"; \
	  exit $${PIPESTATUS[0]}

e2e-test: build py-deps
	KVSTREAM_BIN=$(RELEASE_BIN) bash Tests/e2e/run_all.sh

test: deps unit-test e2e-test

## bench: one line per benchmark, `<name>: <events/s> events/s (<ratio>x <baseline>)`. The one-core figures run
## pinned with taskset; the others may use both cores (a source task and a window task pipeline on two).
## The jobs' lines (BENCH_ONLY=jobs, ~4 min) add each job's latency: `<name>, latency ...: p50 <ms> ms, p99 <ms> ms`.
bench: apt-deps py-deps
	$(SWIFT) build -c release --product KVStreamBench
	@taskset -c 0 .build/release/KVStreamBench 2>/dev/null
	@dir=$$(mktemp -d /tmp/kvstream-bench-pg.XXXXXX); chmod 755 $$dir; source Tests/e2e/pg.sh && port=$$(free_port) && \
	  pg_start $$dir $$port && \
	  BENCH_PG_URL=postgresql://postgres@127.0.0.1:$$port/postgres .build/release/KVStreamBench 2>/dev/null; \
	  rc=$$?; pg_stop $$dir; rm -rf $$dir; exit $$rc

clean:
	rm -rf .build out lake
