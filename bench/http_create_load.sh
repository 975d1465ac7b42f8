#!/usr/bin/env bash
# jobstated under a create storm at default settings: wrk posts creates of
# about 700 B with 32 keep-alive connections until at least CREATES jobs
# exist (default 300,000: about 300 MiB of data, so the map doubles from its
# default 64 MiB at least twice under load), then checks that the
# server still answers (/healthz, a create, a read), that every create was
# answered 201, that the job count matches, and that SIGTERM stops it with
# status 0. Prints the throughput. Regression load for the map-growth
# deadlock (jobstated stopped accepting jobs after about 106,000).
#
# Usage: bench/http_create_load.sh JOBSTATED [CREATES] [DURABILITY]
# Needs wrk, curl and jq (Debian packages of the same names).
set -euo pipefail
binary=$1
creates=${2:-300000}
durability=${3:-full}
work=$(mktemp -d)
pid=
cleanup() {
  if [[ -n $pid ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
source "$(dirname "$0")/../tests/http/server_process.sh"

start_jobstated "$binary" "$work/db" "$work/server.log" \
  --durability "$durability"
pid=$PID
key=$(grep -o 'jsk_[0-9a-f_]*' "$work/server.log" | head -1)
jobs_url="$JOBSTATED/v1/native/projects/load/jobs"

cat >"$work/create.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $key"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"kind": "embed", "input": {"text": "' .. string.rep("x", 640) .. '"}}'
local not_created = 0
function response(status, headers, body)
  if status ~= 201 then not_created = not_created + 1 end
end
function done(summary, latency, requests)
  io.write(string.format("not_created %d\n", not_created))
end
LUA

total=0
rounds=0
began=$SECONDS
while ((total < creates)); do
  # Rounds of 20 s, so that a hang shows as a round with (almost) nothing.
  wrk -t 2 -c 32 -d 20s --timeout 10s -s "$work/create.lua" "$jobs_url" \
    >"$work/round.txt"
  made=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$work/round.txt")
  errors=$(sed -n 's/^Non-2xx or 3xx responses: *//p' "$work/round.txt")
  timeouts=$(sed -n 's/.*timeout \([0-9]*\).*/\1/p' "$work/round.txt")
  total=$((total + made))
  rounds=$((rounds + 1))
  echo "round: ${made} creates, ${errors:-0} non-2xx, ${timeouts:-0} timeouts;" \
    "total ${total}; data.mdb $(du -m "$work/db/data.mdb" | cut -f1) MiB"
  ((made > 1000)) || fail "a round made only $made creates: the server hangs"
  [[ -z $errors ]] || fail "$errors creates were not answered 201"
  [[ -z $timeouts || $timeouts == 0 ]] || fail "$timeouts creates timed out"
done
elapsed=$((SECONDS - began))
echo "creates: $total in ${elapsed} s ($((total / (elapsed > 0 ? elapsed : 1)))/s)," \
  "durability $durability"

curl -sf "$JOBSTATED/healthz" >/dev/null || fail "/healthz after the load"
id=$(curl -sf -X POST "$jobs_url" -H "Authorization: Bearer $key" \
  -d '{"kind": "after"}' | jq -r .id)
curl -sf "$jobs_url/$id" -H "Authorization: Bearer $key" | jq -e '.kind == "after"' \
  >/dev/null || fail "reading a job after the load"
stored=$(curl -sf "$JOBSTATED/metrics" | sed -n 's/^jobstate_jobs{status="pending"} //p')
# wrk counts the answers it read; the creates in flight when a round ends
# (at most one per connection) still commit, unanswered.
((stored >= total + 1 && stored <= total + 1 + 32 * rounds)) ||
  fail "$stored jobs stored, expected $((total + 1)) (+ at most $((32 * rounds)) in flight)"
stop_jobstated
pid=
echo "http_create_load: ok ($stored jobs, the map grew to $(du -m "$work/db/data.mdb" | cut -f1) MiB of data)"
