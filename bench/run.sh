#!/usr/bin/env bash
# Reproduces every figure of BENCHMARKS.md in one run, on this machine:
#
#   1. polity against serf and etcd as real processes on loopback (failover, handoff,
#      election latency, memory and idle CPU, and what many roles cost an agent), by
#      examples/bench_compare/;
#   2. the failover and handoff distributions in the simulator (examples/sim_failover.rs);
#   3. 1,000 simulated nodes electing 100 roles (examples/sim_scale.rs);
#   4. criterion benches of the core, the wire format and sealing (benches/);
#   5. the CPU a bare sender of the 50-node holder's renewal traffic uses on loopback
#      (examples/udp_floor.rs), the floor under the idle CPU of that holder.
#
# Usage: bench/run.sh [bench_compare flags, e.g. --trials 30 --handoffs 100
#        --elections 1000 --idle-secs 120 --churn-roles 20000 --held-roles 3000
#        --only failover,handoff,election,idle,churn,held]
# Environment: SKIP_CRITERION=1, SKIP_SIM=1 and SKIP_FLOOR=1 leave those parts out.
#
# Installs Debian's serf, etcd-server and etcd-client when missing (root, or sudo).
# Every process it starts is stopped when it ends, however it ends. Logs of every
# process and the results are kept in the work directory it prints.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=$(mktemp -d "${TMPDIR:-/tmp}/polity-bench.XXXXXX")
RESULTS="$WORK/results.md"
HELPER=""

cleanup() {
    # The helper runs in its own session: every agent, serf, etcd and etcdctl it started
    # is in that process group, even if the helper itself was killed.
    if [[ -n "$HELPER" ]]; then
        kill -KILL -- "-$HELPER" 2>/dev/null || true
    fi
    echo "logs and results: $WORK" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

missing=()
command -v serf >/dev/null || missing+=(serf)
command -v etcd >/dev/null || missing+=(etcd-server)
command -v etcdctl >/dev/null || missing+=(etcd-client)
if ((${#missing[@]})); then
    echo "installing ${missing[*]}" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

{
    echo "# polity benchmarks, $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    if git rev-parse --git-dir >/dev/null 2>&1; then
        echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- || echo ' (with uncommitted changes)')"
    else
        echo "- commit: not a git checkout"
    fi
    echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB"
    echo "- $(rustc --version), serf $(serf version | head -1), etcd $(etcd --version | head -1 | awk '{print $3}')"
} | tee "$RESULTS"

cargo build --release --all-features --bin polity --example bench_compare >&2

setsid target/release/examples/bench_compare --polity target/release/polity \
    --work "$WORK" "$@" > >(tee -a "$RESULTS") &
HELPER=$!
wait "$HELPER"
HELPER=""

if [[ -z "${SKIP_SIM:-}" ]]; then
    # The bench profile (full optimisation) writes to target/release too.
    cargo build --profile bench --all-features --example sim_failover --example sim_scale >&2
    { echo; echo "## simulator: failover and handoff, 1000 seeds per profile"; echo; echo '```'; } >>"$RESULTS"
    target/release/examples/sim_failover 1000 | tee -a "$RESULTS"
    { echo '```'; echo; echo "## simulator: 1,000 nodes, 100 roles"; echo; echo '```'; } >>"$RESULTS"
    target/release/examples/sim_scale 1000 100 | tee -a "$RESULTS"
    echo '```' >>"$RESULTS"
fi

if [[ -z "${SKIP_CRITERION:-}" ]]; then
    { echo; echo "## criterion"; echo; echo '```'; } >>"$RESULTS"
    cargo bench --all-features --bench core --bench seal 2>/dev/null \
        | grep -E '^[a-z]|time:|thrpt:' | tee -a "$RESULTS"
    echo '```' >>"$RESULTS"
fi

if [[ -z "${SKIP_FLOOR:-}" ]]; then
    # 49 voters every 300 ms, as the holder of the 50-node idle row renews with `lan`.
    cargo build --release --example udp_floor >&2
    { echo; echo "## loopback floor of the 50-node holder's renewals"; echo; echo '```'; } >>"$RESULTS"
    target/release/examples/udp_floor 49 300 60 | tee -a "$RESULTS"
    echo '```' >>"$RESULTS"
fi

echo "results: $RESULTS" >&2
