#!/usr/bin/env bash
# Runs every simulator sweep for SEEDS seeds each, in release, on every core, and prints
# the seeds run, the violations found and the seeds per second of each.
#
# Usage: bench/sweep.sh SEEDS
#
# Each sweep's seeds 0..SEEDS are split into one contiguous range per core
# (POLITY_SIM_SEEDS=A..B), and every seed runs even after a failure
# (POLITY_SIM_KEEP_GOING=1). A failing seed prints itself, the command that replays it,
# and the file its trace went to (target/sim-failures/). Exits 1 if any seed failed.
set -euo pipefail
cd "$(dirname "$0")/.."

SEEDS=${1:?usage: bench/sweep.sh SEEDS}
[[ "$SEEDS" =~ ^[0-9]+$ ]] || { echo "SEEDS must be a number, not '$SEEDS'" >&2; exit 2; }
JOBS=$(nproc)

# FILE TEST: every sweep that reads POLITY_SIM_SEEDS.
SWEEPS=(
    "sim_roles a_randomised_sweep_of_fault_schedules_breaks_nothing"
    "sim_resign_races a_holder_resigning_and_campaigning_again_under_reordering_makes_one_holder"
    "sim_withdrawals withdrawals_crossing_in_a_minority_never_let_a_lower_term_win_later"
    "sim_sweep a_wide_sweep_with_the_dynamic_electorate_keeps_one_holder_per_role"
    "sim_sweep a_wide_sweep_with_a_fixed_electorate_keeps_one_holder_per_role"
    "sim_transfers transfers_under_faults_never_make_two_holders"
    "sim_preferences preferences_under_faults_never_make_two_holders_and_settle_on_the_preferred_node"
    "sim_slots slots_under_faults_hold_one_node_each_and_are_all_filled_once_healed"
)

echo "== building the sweeps (release)"
declare -A BINARY
for file in $(printf '%s\n' "${SWEEPS[@]}" | cut -d' ' -f1 | sort -u); do
    exe=$(cargo test --release --all-features --test "$file" --no-run --message-format=json \
        | grep -F '"kind":["test"]' | grep -F "\"name\":\"$file\"" \
        | grep -o '"executable":"[^"]*"' | cut -d'"' -f4 | tail -n1)
    [[ -x "$exe" ]] || { echo "no test binary for $file" >&2; exit 1; }
    BINARY[$file]=$exe
done

LOGS=$(mktemp -d "${TMPDIR:-/tmp}/polity-sweep.XXXXXX")
trap 'rm -rf "$LOGS"' EXIT
total_failed=0
started=$(date +%s)
printf '\n%9s %7s %9s %8s  %s\n' "seeds" "failed" "seeds/s" "wall s" "sweep"
for sweep in "${SWEEPS[@]}"; do
    read -r file test <<<"$sweep"
    begin=$(date +%s.%N)
    pids=()
    for ((job = 0; job < JOBS; job++)); do
        from=$((SEEDS * job / JOBS))
        to=$((SEEDS * (job + 1) / JOBS))
        POLITY_SIM_SEEDS="$from..$to" POLITY_SIM_KEEP_GOING=1 \
            "${BINARY[$file]}" --exact "$test" --nocapture --test-threads 1 \
            >"$LOGS/$job.out" 2>&1 &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || true; done
    end=$(date +%s.%N)
    ran=0 failed=0
    for ((job = 0; job < JOBS; job++)); do
        # What each sweep prints at its end: "sweep NAME: N seeds, K failed, R seeds/s"
        # (libtest may print its own "test NAME ... " in front of it).
        line=$(grep -oE 'sweep [^ ]+: [0-9]+ seeds, [0-9]+ failed' "$LOGS/$job.out" | tail -n1 || true)
        if [[ -z "$line" ]]; then
            echo "a $file run ended without its summary line:" >&2
            tail -n 20 "$LOGS/$job.out" >&2
            failed=$((failed + 1))
            continue
        fi
        read -r n k <<<"$(sed -E 's/^sweep [^ ]+: ([0-9]+) seeds, ([0-9]+) failed.*/\1 \2/' <<<"$line")"
        ran=$((ran + n))
        failed=$((failed + k))
        grep -E ': seed [0-9]+ failed:|^replay it with:|^the run.s log' "$LOGS/$job.out" >&2 || true
    done
    wall=$(awk -v a="$begin" -v b="$end" 'BEGIN { print b - a }')
    rate=$(awk -v n="$ran" -v w="$wall" 'BEGIN { print n / w }')
    printf '%9d %7d %9.0f %8.1f  %s\n' "$ran" "$failed" "$rate" "$wall" "$file $test"
    total_failed=$((total_failed + failed))
done
echo "== $SEEDS seeds of each of ${#SWEEPS[@]} sweeps on $JOBS cores in $(($(date +%s) - started)) s: $total_failed violations"
[[ $total_failed -eq 0 ]]
