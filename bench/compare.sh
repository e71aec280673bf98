#!/usr/bin/env bash
# Strata beside PostgreSQL on the same machine and durability (every
# acknowledged write fsynced), the same click-analytics workloads, one run:
#
#   click_insert    one click per call/transaction, 1 and 64 in flight
#   batch100        100 events per Append / rows per transaction, 8 in flight
#   dashboard       the 30-day analytics of one link: a hot link (1M clicks)
#                   and a cold one (10k clicks), sequential
#   read_out        the whole log to one client (ReadAll) / COPY clicks TO STDOUT
#
# Strata's side: a fresh stratad on a temporary data directory, driven by
# strata_load (each invocation also runs the no-op yardstick). PostgreSQL's:
# bench/peers/postgres.sh. Prints a table of both figures and their ratio.
# Needs the RelWithDebInfo build (./scripts/test.sh or ./scripts/run.sh makes
# it) and python3.
#
#   bench/compare.sh [--seconds S] [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=10
QUICK=()
SCALE=1
while (($#)); do
  case "$1" in
    --seconds) SECONDS_EACH="${2:?--seconds needs a value}"; shift 2 ;;
    --quick) SECONDS_EACH=2; SCALE=10; QUICK=(--quick); shift ;;
    --help | -h) echo "usage: $0 [--seconds S] [--quick]"; exit 0 ;;
    *) echo "usage: $0 [--seconds S] [--quick]" >&2; exit 2 ;;
  esac
done
BUILD="${BUILD_DIR:-build}"
cmake --build "$BUILD" -j "${JOBS:-2}" --target stratad strata_load >&2
command -v python3 >/dev/null || { apt-get update >&2 && apt-get install -y python3 >&2; }

DIR="$(mktemp -d /tmp/strata-compare.XXXXXX)"
PORT=$((20000 + RANDOM % 20000))
ADDR="127.0.0.1:$PORT"
"$BUILD/server/stratad" --data_dir "$DIR/data" --listen "$ADDR" --kurrent_listen= --http_listen= 2>"$DIR/stratad.log" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do grep -q "listening" "$DIR/stratad.log" && break; sleep 0.1; done

load() {  # name, strata_load flags...: one JSON line tagged with the name
  local name="$1"
  shift
  echo "compare.sh: strata $name" >&2
  "$BUILD/tools/strata_load" --server "$ADDR" --server_pid "$PID" --json --warmup 0 \
    --duration "${SECONDS_EACH}s" "$@" | sed "s/^/$name /"
}
HOT=$((1000000 / SCALE))
COLD=$((10000 / SCALE))
{
  load click64 --modes click --concurrency 64
  load click1 --modes click --concurrency 1
  load batch100 --modes append --events_per_call 100 --concurrency 8
  load fill_hot --modes click --links 1 --link_prefix hot- --calls "$HOT" --concurrency 64
  load fill_cold --modes click --links 1 --link_prefix cold- --calls "$COLD" --concurrency 64
  load dash_hot --modes analytics --links 1 --link_prefix hot- --concurrency 1
  load dash_cold --modes analytics --links 1 --link_prefix cold- --concurrency 1
  load read_out --modes readall
} >"$DIR/strata.txt"
echo "compare.sh: postgresql" >&2
bench/peers/postgres.sh --seconds "$SECONDS_EACH" "${QUICK[@]}" >"$DIR/pg.txt"

python3 - "$DIR/strata.txt" "$DIR/pg.txt" <<'PY'
import json, sys, datetime, os
strata = {}
for line in open(sys.argv[1]):
    name, obj = line.split(" ", 1)
    strata[name] = {m["mode"]: m for m in json.loads(obj)["modes"]}
pg = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
meta = pg[0]
def pgw(workload, **kw):
    for r in pg[1:]:
        if r["workload"] == workload and all(r.get(k) == v for k, v in kw.items()):
            return r
    return {}
def s(name, mode):
    return strata.get(name, {}).get(mode, {})
rows = [
    ("single click insert, 64 in flight (rows/s)", s("click64", "click"), "calls_per_s",
     pgw("click_insert", clients=64)),
    ("single click insert, 1 in flight (rows/s)", s("click1", "click"), "calls_per_s",
     pgw("click_insert", clients=1)),
    ("100 per call/transaction, 8 in flight (rows/s)", s("batch100", "append x100"),
     "events_per_s", pgw("batch100_insert")),
    ("dashboard, hot link (queries/s)", s("dash_hot", "analytics"), "calls_per_s",
     pgw("dashboard", link="hot")),
    ("dashboard, cold link (queries/s)", s("dash_cold", "analytics"), "calls_per_s",
     pgw("dashboard", link="cold")),
    ("whole log to one client (rows/s)", s("read_out", "readall"), "events_per_s",
     pgw("copy_out")),
]
print(f"Strata vs {meta.get('system')} {meta.get('version')} on {meta.get('machine')}, "
      f"{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, fsync on both sides")
print(f"| workload | Strata | p50 / p99 ms | PostgreSQL | p50 / p99 ms | Strata / PostgreSQL |")
print("|---|---:|---:|---:|---:|---:|")
for title, st, key, p in rows:
    sv, pv = st.get(key, 0.0), p.get("per_s", 0.0)
    sl = f"{st.get('p50_ms', 0):.2f} / {st.get('p99_ms', 0):.2f}" if "readall" not in st.get("mode", "readall") else "-"
    pl = f"{p.get('p50_ms', 0):.2f} / {p.get('p99_ms', 0):.2f}" if "p50_ms" in p else "-"
    ratio = f"{sv / pv:.2f}" if pv else "-"
    print(f"| {title} | {sv:,.0f} | {sl} | {pv:,.0f} | {pl} | {ratio} |")
noop = s("click64", "noop")
click = s("click64", "click")
if noop and click:
    print(f"\nStrata's no-op yardstick in the click run: {noop['calls_per_s']:,.0f} calls/s; "
          f"clicks at {click['calls_per_s'] / noop['calls_per_s']:.2f} of it"
          + (f"; read-your-write lag p99 {click['lag_p99_ms']:.1f} ms" if "lag_p99_ms" in click
             else ""))
PY
