#!/usr/bin/env bash
# PostgreSQL as a peer for Strata's load generator: the same click-analytics workloads of a
# URL shortener, run with pgbench against a throwaway cluster, so bench/compare.sh can print
# Strata/PostgreSQL ratios.
#
#   click_insert     1 and 64 clients, one INSERT of one click per transaction (rows/s, p50/p99)
#   batch100_insert  8 clients, 100 rows per transaction (rows/s = tps*100, p50/p99)
#   dashboard        1 client, GetLinkAnalytics for one link over 30 days (by day, country,
#                    device, plus the all-time total) in ONE statement, for a hot link (1M clicks)
#                    and a cold one (10k clicks) among 2M rows (queries/s, p50/p99)
#   copy_out         COPY clicks TO STDOUT of every row into /dev/null through psql (rows/s)
#
# Durability equals Strata's (every acknowledged commit is on disk): fsync=on,
# synchronous_commit=on and full_page_writes=on, set explicitly. Other settings: shared_buffers
# 256MB, max_wal_size 2GB, unix socket only. Latencies come from pgbench's per-transaction log
# (-l); statements run prepared (-M prepared), as a service would.
#
# stdout: one JSON object per line (first the version/machine line); stderr: progress.
# Runs as root: every PostgreSQL program runs as the `postgres` user (runuser).
set -euo pipefail

usage() {
  echo "usage: $0 [--seconds S] [--quick] [--help]"
  echo "  --seconds S  time each workload for S seconds (default 10)"
  echo "  --quick      smoke test: 2 s each, a tenth of the dashboard data"
}
SECONDS_EACH=10
SCALE=1
while (($#)); do
  case "$1" in
    --seconds) SECONDS_EACH="${2:?--seconds needs a value}"; shift 2 ;;
    --quick) SECONDS_EACH=2; SCALE=10; shift ;;
    --help | -h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
[[ "$SECONDS_EACH" =~ ^[1-9][0-9]*$ ]] || { echo "--seconds: a positive integer" >&2; exit 2; }
HOT_ROWS=$((1000000 / SCALE))
COLD_ROWS=$((10000 / SCALE))  # per cold link; 100 cold links

log() { echo "postgres.sh: $*" >&2; }

if ! compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null ||
  ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  log "installing PostgreSQL (apt-get)"
  apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
fi
BIN="$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort -V | tail -n 1)"

DIR="$(mktemp -d /tmp/strata-pg.XXXXXX)"
chown postgres: "$DIR"
chmod 700 "$DIR"
cd "$DIR"  # the postgres user must be able to stand in the working directory
STARTED=0
cleanup() {
  if ((STARTED)); then
    runuser -u postgres -- "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  cd /
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pg() { runuser -u postgres -- "$@"; }
sql() { pg "$BIN/psql" -h "$DIR" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }

pg "$BIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
cat >>"$DIR/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$DIR'
max_connections = 100
shared_buffers = 256MB
max_wal_size = 2GB
fsync = on
synchronous_commit = on
full_page_writes = on
timezone = 'UTC'
EOF
pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w start >/dev/null
STARTED=1

VERSION="$(sql -At -c 'SHOW server_version' | cut -d' ' -f1)"
MEM_KB="$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
MACHINE="$(nproc) cores, $(awk -v k="$MEM_KB" 'BEGIN {printf "%.1f GiB", k / 1048576}')"
log "PostgreSQL $VERSION on $MACHINE, ${SECONDS_EACH} s per workload, cluster in $DIR"
printf '{"system":"postgresql","version":"%s","machine":"%s"}\n' "$VERSION" "$MACHINE"

sql <<'EOF'
CREATE TABLE clicks (
  id bigserial PRIMARY KEY,
  link_id text NOT NULL,
  clicked_at timestamptz NOT NULL,
  country text NOT NULL,
  device text NOT NULL);
CREATE INDEX clicks_link_time ON clicks (link_id, clicked_at) INCLUDE (country, device);
EOF

COUNTRIES="ARRAY['US','DE','FR','GB','IN','BR','JP','CA','ES','IT']"
DEVICES="ARRAY['mobile','desktop','tablet','bot','other']"
cat >"$DIR/click.sql" <<EOF
\\set l random(1, 100)
\\set c random(1, 10)
\\set d random(1, 5)
INSERT INTO clicks (link_id, clicked_at, country, device)
  VALUES ('l' || :l, now(), ($COUNTRIES)[:c], ($DEVICES)[:d]);
EOF
cat >"$DIR/batch100.sql" <<EOF
INSERT INTO clicks (link_id, clicked_at, country, device)
  SELECT 'l' || (1 + floor(random() * 100)::int), now(),
         ($COUNTRIES)[1 + floor(random() * 10)::int], ($DEVICES)[1 + floor(random() * 5)::int]
  FROM generate_series(1, 100);
EOF
# GetLinkAnalytics in one statement: one GROUPING SETS pass over the link's last 30 days (UTC)
# gives the per-day, per-country and per-device counts (ordered as Strata returns them), and an
# uncorrelated sub-select (run once) gives the all-time total. Both are index-only scans.
cat >"$DIR/dashboard.sql" <<'EOF'
SELECT (clicked_at AT TIME ZONE 'UTC')::date AS day, country, device, count(*) AS clicks,
       (SELECT count(*) FROM clicks WHERE link_id = :link) AS all_time
  FROM clicks
  WHERE link_id = :link
    AND clicked_at >= (current_date - 29)::timestamptz
    AND clicked_at < (current_date + 1)::timestamptz
  GROUP BY GROUPING SETS (((clicked_at AT TIME ZONE 'UTC')::date), (country), (device))
  ORDER BY GROUPING(country, device), day, count(*) DESC;
EOF
chown postgres: "$DIR"/*.sql

# run_bench WORKLOAD CLIENTS ROWS_PER_TXN UNIT SCRIPT [pgbench args...]: one JSON line.
run_bench() {
  local workload="$1" clients="$2" rows="$3" unit="$4" script="$5"
  shift 5
  local threads=$((clients > 1 ? 2 : 1)) logs="$DIR/log"
  rm -rf "$logs" && pg mkdir "$logs"
  local out
  out="$(pg "$BIN/pgbench" -h "$DIR" -d postgres -n -M prepared -f "$DIR/$script" \
    -c "$clients" -j "$threads" -T "$SECONDS_EACH" -l --log-prefix="$logs/tx" "$@" 2>&1)" ||
    { echo "$out" >&2; exit 1; }
  local tps
  tps="$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")"
  # Third column of pgbench's per-transaction log: latency in microseconds.
  local pcts
  pcts="$(cat "$logs"/tx.* | awk '{print $3}' | sort -n | awk '
    { v[NR] = $1 }
    END { i50 = int(NR * 0.50 + 0.999999); i99 = int(NR * 0.99 + 0.999999)
          printf "%.3f %.3f %d", v[i50] / 1000, v[i99] / 1000, NR }')"
  local p50 p99 n
  read -r p50 p99 n <<<"$pcts"
  local per_s
  per_s="$(awk -v t="$tps" -v r="$rows" 'BEGIN {printf "%.1f", t * r}')"
  log "$workload${LABEL:+ ($LABEL)}, $clients clients: $per_s $unit, p50 $p50 ms, p99 $p99 ms ($n transactions)"
  printf '{"system":"postgresql","workload":"%s","clients":%d,%s"per_s":%s,"unit":"%s","p50_ms":%s,"p99_ms":%s}\n' \
    "$workload" "$clients" "${JSON_EXTRA:-}" "$per_s" "$unit" "$p50" "$p99"
}

run_bench click_insert 1 1 rows/s click.sql
run_bench click_insert 64 1 rows/s click.sql
run_bench batch100_insert 8 100 rows/s batch100.sql

log "loading dashboard data: $HOT_ROWS clicks on link 'hot', $COLD_ROWS on each of 100 others"
sql <<EOF
TRUNCATE clicks;
INSERT INTO clicks (link_id, clicked_at, country, device)
  SELECT 'hot', now() - random() * interval '90 days',
         ($COUNTRIES)[1 + floor(random() * 10)::int], ($DEVICES)[1 + floor(random() * 5)::int]
  FROM generate_series(1, $HOT_ROWS);
INSERT INTO clicks (link_id, clicked_at, country, device)
  SELECT 'l' || (1 + i % 100), now() - random() * interval '90 days',
         ($COUNTRIES)[1 + floor(random() * 10)::int], ($DEVICES)[1 + floor(random() * 5)::int]
  FROM generate_series(1, 100 * $COLD_ROWS) AS i;
VACUUM ANALYZE clicks;
CHECKPOINT;
EOF
LABEL="hot link, $HOT_ROWS clicks" JSON_EXTRA="\"link\":\"hot\",\"link_clicks\":$HOT_ROWS," \
  run_bench dashboard 1 1 queries/s dashboard.sql -D link=hot
LABEL="cold link, $COLD_ROWS clicks" JSON_EXTRA="\"link\":\"cold\",\"link_clicks\":$COLD_ROWS," \
  run_bench dashboard 1 1 queries/s dashboard.sql -D link=l42

ROWS="$(sql -At -c 'SELECT count(*) FROM clicks')"
START_NS="$(date +%s%N)"
sql -c 'COPY clicks TO STDOUT' >/dev/null
END_NS="$(date +%s%N)"
COPY_PER_S="$(awk -v r="$ROWS" -v ns=$((END_NS - START_NS)) 'BEGIN {printf "%.1f", r / (ns / 1e9)}')"
log "copy_out: $ROWS rows in $(((END_NS - START_NS) / 1000000)) ms, $COPY_PER_S rows/s"
printf '{"system":"postgresql","workload":"copy_out","clients":1,"rows":%s,"per_s":%s,"unit":"rows/s"}\n' \
  "$ROWS" "$COPY_PER_S"
