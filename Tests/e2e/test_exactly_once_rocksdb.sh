#!/usr/bin/env bash
# The SIGKILL exactly-once test (test_exactly_once.sh) with keyed state in RocksDB.
exec env BACKEND=rocksdb bash "$(dirname "${BASH_SOURCE[0]}")/test_exactly_once.sh" "$@"
