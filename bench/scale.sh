# bench/scale.sh — part d of bench/run (issue 8, 1d), sourced by bench/run (uses its helpers and variables).
# A store with SCALE_SECRETS secrets and SCALE_EVENTS audit events against one with SCALE_SMALL secrets (10 events
# each), both seeded through Latch's services with real encryption and a real audit chain (Latch.Benchmarks
# --scale-seed); then, alternating small/big: start-up time and RSS of `latch serve`, POST /v1/secrets/resolve (20
# references spread over the store) p50/p99, GET /v1/secrets first page p99, and secret creations/s through HTTP
# (durable commits, SCALE_CREATE_CONNECTIONS concurrent). Database bytes per secret from the files and SQLite dbstat.
SCALE_SECRETS=${SCALE_SECRETS:-100000}
SCALE_EVENTS=${SCALE_EVENTS:-1000000}
SCALE_SMALL=${SCALE_SMALL:-100}
SCALE_CONNS=${SCALE_CONNECTIONS:-1}
SCALE_CREATE_CONNS=${SCALE_CREATE_CONNECTIONS:-16}
SCALE_KEY=bench-bootstrap-key-0123456789abcdef0123456789
SCALE_MASTER=$(head -c 32 /dev/urandom | base64)
declare -A SCALE_PORT=([small]=$((UP_PORT + 6)) [big]=$((UP_PORT + 7)))
declare -A SCALE_N=([small]=$SCALE_SMALL [big]=$SCALE_SECRETS)
declare -A SCALE_PID=()
check() { # label url method [curl args...] — one 200 before a target is loaded
  local code; code=$(curl -s -o "$WORK/check.out" -w '%{http_code}' -X "$3" "${@:4}" "$2")
  [[ $code == 200 ]] || { echo "$1 answered $code: $(head -c 400 "$WORK/check.out")" >&2; exit 1; }
}

log "d. seeding: $SCALE_SMALL secrets (small) and $SCALE_SECRETS secrets + $SCALE_EVENTS audit events (big)"
for store in small big; do
  n=${SCALE_N[$store]}; events=$SCALE_EVENTS; [[ $store == small ]] && events=$((n * 10))
  LATCH_MASTER_KEY=$SCALE_MASTER LATCH_BOOTSTRAP_KEY=$SCALE_KEY dotnet "$BENCH_DLL" --scale-seed "$WORK/scale-$store" "$n" "$events" \
    | grep '^RESULT' | sed "s/^RESULT scale-seed/SCALESEED store=$store/" | tee -a "$RESULTS" >&2
  python3 - "$WORK/scale-$store/latch.db" "$store" "$n" <<'PY' | tee -a "$RESULTS" >&2
import os, sqlite3, sys
db, store, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s))
tables = {}
try:
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    for name, size in c.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
        tables[name] = size
    c.close()
except sqlite3.Error:
    pass
secret_bytes = sum(v for k, v in tables.items() if k in ("secrets", "secret_versions") or k.startswith("sqlite_autoindex_secret"))
audit_bytes = sum(v for k, v in tables.items() if "audit" in k)
print(f"SCALESIZE store={store} bytes={files} per_secret={files / n:.0f} secret_tables_per_secret={secret_bytes / n if tables else -1:.0f} audit_bytes={audit_bytes if tables else -1}")
PY
done

start_scale() { # store — starts latch serve on it, records the time until /readyz answers and the RSS then
  local store=$1 port=${SCALE_PORT[$1]} t0 t1
  t0=$(date +%s%N)
  LATCH_MASTER_KEY=$SCALE_MASTER dotnet "$CLI_DLL" serve --urls "http://127.0.0.1:$port" --data "$WORK/scale-$store" >"$WORK/scale-$store.log" 2>&1 &
  SCALE_PID[$store]=$!
  PIDS+=("${SCALE_PID[$store]}")
  for _ in $(seq 1 1200); do curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.05; done
  t1=$(date +%s%N)
  curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" || { tail -20 "$WORK/scale-$store.log" >&2; exit 1; }
  echo "SCALESTART store=$store seconds=$(((t1 - t0) / 1000000))e-3 rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/${SCALE_PID[$store]}/status")" | tee -a "$RESULTS" >&2
}
stop_scale() { kill "${SCALE_PID[$1]}" 2>/dev/null || true; wait "${SCALE_PID[$1]}" 2>/dev/null || true; }

log "d. start-up time and memory ($ROUNDS rounds, alternating)"
for round in $(seq 1 "$ROUNDS"); do
  for store in small big; do start_scale "$store"; stop_scale "$store"; done
done
for store in small big; do start_scale "$store"; done

for store in small big; do
  n=${SCALE_N[$store]}; refs=""
  for i in $(seq 1 20); do refs+="${refs:+,}\"k$i\":\"\$Token{$(printf 'S%06d' $(((i * n + 19) / 20)))}\""; done
  echo -n "{\"document\":{$refs},\"app\":\"scale_app\",\"env\":\"prd\"}" >"$WORK/scale-resolve-$store.json"
  wrk_script "$WORK/scale-resolve-$store.lua" POST "$WORK/scale-resolve-$store.json" "Authorization: Bearer $SCALE_KEY"
  check "scale resolve ($store)" "http://127.0.0.1:${SCALE_PORT[$store]}/v1/secrets/resolve" POST -H "Authorization: Bearer $SCALE_KEY" \
    -H 'Content-Type: application/json' --data-binary @"$WORK/scale-resolve-$store.json"
done
wrk_script "$WORK/scale-list.lua" GET "" "Authorization: Bearer $SCALE_KEY"

scale_wrk() { # label round conns url script
  local out
  out=$(wrk -t1 -c"$3" -d"${DURATION}s" --timeout 10s -s "$5" "$4" | tail -n 1)
  echo "WRK $1 round=$2 $out" | tee -a "$RESULTS" >&2
}
create_script() { # file prefix — POST /v1/secrets with a new key per request
  wrk_script "$1" POST "" "Authorization: Bearer $SCALE_KEY"
  cat >>"$1" <<LUA
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, string.format('{"key":"$2_%d","value":"created-under-load-%d-0123456789abcdef"}', n, n))
end
LUA
}

log "d. resolve (20 references) p50/p99, list first page, creations/s ($ROUNDS rounds × ${DURATION}s, alternating small/big)"
for round in $(seq 1 "$ROUNDS"); do
  for store in small big; do
    scale_wrk "scale-resolve-$store" "$round" "$SCALE_CONNS" "http://127.0.0.1:${SCALE_PORT[$store]}/v1/secrets/resolve" "$WORK/scale-resolve-$store.lua"
  done
  for store in small big; do
    scale_wrk "scale-list-$store" "$round" "$SCALE_CONNS" "http://127.0.0.1:${SCALE_PORT[$store]}/v1/secrets" "$WORK/scale-list.lua"
  done
  for store in small big; do
    create_script "$WORK/scale-create-$store-$round.lua" "NEW_R${round}"
    scale_wrk "scale-create-$store" "$round" "$SCALE_CREATE_CONNS" "http://127.0.0.1:${SCALE_PORT[$store]}/v1/secrets" "$WORK/scale-create-$store-$round.lua"
  done
done
for store in small big; do
  echo "SCALERSS store=$store after_load_kb=$(awk '/VmRSS/ {print $2}' "/proc/${SCALE_PID[$store]}/status")" | tee -a "$RESULTS" >&2
done

scale_table() {
python3 - "$RESULTS" "$ROUNDS" "$DURATION" "$SCALE_CONNS" "$SCALE_CREATE_CONNS" <<'PY'
import re, statistics as st, sys
lines = open(sys.argv[1]).read().splitlines()
rounds, duration, conns, create_conns = sys.argv[2:6]
kv = lambda s: {k: v for k, v in re.findall(r"(\w+)=([^\s]+)", s)}
def rows(prefix):
    return {kv(l)["store"]: kv(l) for l in lines if l.startswith(prefix)}
seed, size, rss = rows("SCALESEED"), rows("SCALESIZE"), rows("SCALERSS")
starts = {}
for l in lines:
    if l.startswith("SCALESTART"):
        d = kv(l); starts.setdefault(d["store"], []).append((float(d["seconds"]), int(d["rss_kb"])))
wrk = {}
for l in lines:
    if l.startswith("WRK scale-"):
        d = kv(l); wrk.setdefault(l.split()[1], []).append(d)
med = st.median
def w(label, field):
    return med([float(r[field]) for r in wrk[label]]) if label in wrk else float("nan")
def ratio_rounds(a, b, field):
    xs = [float(x[field]) / float(y[field]) for x, y in zip(wrk.get(a, []), wrk.get(b, [])) if float(y[field]) > 0]
    return f"{med(xs):.2f}× (rounds {min(xs):.2f}–{max(xs):.2f})" if xs else "—"
n_small, n_big = int(seed["small"]["secrets"]), int(seed["big"]["secrets"])
e_big = int(seed["big"]["events"])
print()
print(f"Part d — scale: {n_big:,} secrets and {e_big:,} audit events (big) vs {n_small:,} secrets (small); seeded in {float(seed['big']['seconds']):.0f} s")
print()
print("| measure | small | big | big / small | goal |")
print("|---|---|---|---|---|")
print(f"| resolve 20 refs, p50 ms (-c{conns}) | {w('scale-resolve-small','p50_ms'):.2f} | {w('scale-resolve-big','p50_ms'):.2f} | {ratio_rounds('scale-resolve-big','scale-resolve-small','p50_ms')} | ≤ 1.2× |")
print(f"| resolve 20 refs, p99 ms (-c{conns}) | {w('scale-resolve-small','p99_ms'):.2f} | {w('scale-resolve-big','p99_ms'):.2f} | {ratio_rounds('scale-resolve-big','scale-resolve-small','p99_ms')} | ≤ 1.2× |")
print(f"| GET /v1/secrets first page, p99 ms (-c{conns}) | {w('scale-list-small','p99_ms'):.2f} | {w('scale-list-big','p99_ms'):.2f} | {ratio_rounds('scale-list-big','scale-list-small','p99_ms')} | — |")
ss, sb = starts.get("small", []), starts.get("big", [])
if ss and sb:
    print(f"| start-up to /readyz, s (median of {len(sb)}) | {med([s for s, _ in ss]):.2f} | {med([s for s, _ in sb]):.2f} | {med([s for s, _ in sb]) / med([s for s, _ in ss]):.2f}× | — |")
    print(f"| RSS after start-up, MB | {med([r for _, r in ss]) / 1024:.0f} | {med([r for _, r in sb]) / 1024:.0f} | {med([r for _, r in sb]) / med([r for _, r in ss]):.2f}× | — |")
if rss:
    print(f"| RSS after the load, MB | {int(rss['small']['after_load_kb']) / 1024:.0f} | {int(rss['big']['after_load_kb']) / 1024:.0f} | — | — |")
print(f"| database bytes / secret (files, audit included) | {float(size['small']['per_secret']):,.0f} | {float(size['big']['per_secret']):,.0f} | — | — |")
if float(size["big"]["secret_tables_per_secret"]) >= 0:
    print(f"| secrets + versions tables, bytes / secret | {float(size['small']['secret_tables_per_secret']):,.0f} | {float(size['big']['secret_tables_per_secret']):,.0f} | — | — |")
    print(f"| audit tables + indexes, bytes / event | — | {int(size['big']['audit_bytes']) / e_big:,.0f} | — | — |")
print(f"| secret creations/s, HTTP, durable (-c{create_conns}) | {w('scale-create-small','rps'):,.0f} | {w('scale-create-big','rps'):,.0f} | {ratio_rounds('scale-create-big','scale-create-small','rps')} | — |")
print()
print(f"wrk -t1 -d{duration}s, {rounds} alternating rounds, medians over rounds; non-2xx and socket errors:")
for label in sorted(wrk):
    print(f"  {label}: requests={sum(int(r['requests']) for r in wrk[label]):,} errors={sum(int(r['errors']) for r in wrk[label])} non2xx={sum(int(r['non2xx']) for r in wrk[label])}")
PY
}
