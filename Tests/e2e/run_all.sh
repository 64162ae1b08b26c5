#!/usr/bin/env bash
# Runs every end-to-end script (Tests/e2e/test_*.sh) and sums their `N passed, N failed` lines.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
total_passed=0
total_failed=0
for script in "$HERE"/test_*.sh; do
    echo "=== $(basename "$script")"
    out=$(mktemp)
    bash "$script" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
    rm -f "$out"
    if [[ -z $summary ]]; then
        echo "FAIL $(basename "$script") printed no summary (exit $rc)"
        total_failed=$((total_failed + 1))
        continue
    fi
    p=${summary%% passed*}
    f=${summary#*, }
    f=${f%% failed*}
    total_passed=$((total_passed + p))
    total_failed=$((total_failed + f))
    if [[ $rc -ne 0 && $f -eq 0 ]]; then
        echo "FAIL $(basename "$script") exited $rc"
        total_failed=$((total_failed + 1))
    fi
done
echo "e2e: $total_passed passed, $total_failed failed"
[[ $total_failed -eq 0 ]]
