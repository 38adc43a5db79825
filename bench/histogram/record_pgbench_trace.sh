#!/usr/bin/env bash
# Records the real latency trace the histogram benchmark replays: per-transaction
# latencies (µs) from pgbench's TPC-B-like script against a throwaway PostgreSQL 15
# cluster. Writes bench/histogram/pgbench_trace.txt.gz (one latency in µs per line).
# Run as root (the cluster runs as user postgres) or as an ordinary user.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"
seconds="${TRACE_SECONDS:-30}"
work="$(mktemp -d /tmp/augur-trace.XXXXXX)"
port=$((20000 + RANDOM % 10000))
as_pg=()
if [ "$(id -u)" = 0 ]; then chown postgres "$work"; as_pg=(runuser -u postgres --); fi
cleanup() { "${as_pg[@]}" "$bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
"${as_pg[@]}" "$bin/initdb" -D "$work/data" -A trust -U postgres >/dev/null
"${as_pg[@]}" "$bin/pg_ctl" -D "$work/data" -o "-p $port -k $work -c listen_addresses=''" -l "$work/log" -w start >/dev/null
"${as_pg[@]}" "$bin/pgbench" -h "$work" -p "$port" -U postgres -i -s 10 -q postgres >/dev/null 2>&1
(cd "$work" && "${as_pg[@]}" "$bin/pgbench" -h "$work" -p "$port" -U postgres -c 4 -j 2 -T "$seconds" \
    --log --log-prefix="$work/trace" postgres >/dev/null 2>&1)
# pgbench's log: client_id transaction_no time script_no time_epoch time_us; "time" is the latency in µs.
cat "$work"/trace.* | awk '{print $3}' | gzip -9 > "$here/pgbench_trace.txt.gz"
echo "$(zcat "$here/pgbench_trace.txt.gz" | wc -l) latencies -> $here/pgbench_trace.txt.gz"
