# bench/lib.sh — helpers shared by bench/run and bench/ab (sourced; they set WORK, UP_PORT and friends first).

wait_http() { # url — up to 30 s
  for _ in $(seq 1 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "not reachable: $1" >&2; return 1
}

# wrk Lua script: method, path body, then headers as "Name: value" lines; done() prints one RESULT line.
wrk_script() { # file method body-file [header...]
  local file=$1 method=$2 body=$3; shift 3
  {
    echo "wrk.method = \"$method\""
    if [[ -n $body ]]; then echo "wrk.body = [==[$(cat "$body")]==]"; echo 'wrk.headers["Content-Type"] = "application/json"'; fi
    for h in "$@"; do echo "wrk.headers[\"${h%%: *}\"] = [==[${h#*: }]==]"; done
    cat <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("rps=%.1f requests=%d p50_ms=%.3f p99_ms=%.3f errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), summary.requests, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.connect + e.read + e.write + e.timeout, e.status))
end
LUA
  } >"$file"
}

# latch_setup URL KEY — through the API of the Latch at URL (bootstrap key KEY): the secret UPSTREAM_TOKEN, an app whose
# base_url is the upstream on 127.0.0.1:$UP_PORT, a product and a product app binding them (for actions.run), and 20
# secrets BENCH_R01..20; writes $WORK/run.json and $WORK/resolve.json (a 20-reference document). Fails on any non-2xx.
latch_setup() {
  local L=$1 LATCH_KEY=$2 refs="" i
  api() { # path json
    curl -sS --fail-with-body -o "$WORK/api.out" -H "Authorization: Bearer $LATCH_KEY" -H 'Content-Type: application/json' "$L$1" -d "$2" \
      || { echo "Latch setup failed on $1: $(cat "$WORK/api.out")" >&2; exit 1; }
  }
  api /v1/secrets "{\"key\":\"UPSTREAM_TOKEN\",\"value\":\"$UPSTREAM_TOKEN\",\"scope\":[\"up_app\"]}"
  api /v1/apps "{\"access_tag\":\"up_app\",\"name\":\"Bench upstream\",
    \"envs\":[{\"slug\":\"live\",\"base_url\":\"http://127.0.0.1:$UP_PORT\"}],
    \"auths\":[{\"tag\":\"bearer\",\"headers\":{\"Authorization\":\"Bearer \$Auth{api_key}\"}}],
    \"actions\":[{\"event\":\"charge\",\"method\":\"POST\",\"path\":\"/v1/charges\",\"body\":{\"amount\":2000,\"currency\":\"usd\"}}]}"
  api /v1/products '{"tag":"bench","name":"Bench","envs":[{"slug":"prd","env_name":"Production","active":true}]}'
  api /v1/products/bench/apps '{"access_tag":"up_app","envs":[{"app_env_slug":"live","product_env_slug":"prd",
    "auth":[{"auth_tag":"bearer","data":{"api_key":"$Token{UPSTREAM_TOKEN}"}}]}]}'
  for i in $(seq -w 1 20); do
    api /v1/secrets "{\"key\":\"BENCH_R$i\",\"value\":\"value-$i-$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')\"}"
    refs+="${refs:+,}\"k$i\":\"\$Token{BENCH_R$i}\""
  done
  echo -n '{"env":"prd","product":"bench","app":"up_app","event":"charge","input":{"body":{"amount":500,"currency":"eur"}}}' >"$WORK/run.json"
  echo -n "{\"document\":{$refs},\"app\":\"up_app\",\"env\":\"prd\"}" >"$WORK/resolve.json"
}
