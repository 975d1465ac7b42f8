#!/usr/bin/env bash
# jobstated as a process: --help, a bad flag, the first start's key and
# curl commands (run as printed), the keys commands, SIGTERM, a second start.
# Usage: jobstated_process_test.sh JOBSTATED SOURCE_DIR WORK_DIR
set -euo pipefail
binary=$1
work=$3
source "$(dirname "$0")/server_process.sh"
rm -rf "$work" && mkdir -p "$work" && cd "$work"
trap 'if [[ -n ${PID:-} ]]; then kill "$PID" 2>/dev/null || true; fi' EXIT

help=$("$binary" --help)
grep -q -- '--listen HOST:PORT' <<<"$help" || fail "--help lacks --listen"
grep -q -- '--db DIR' <<<"$help" || fail "--help lacks --db"
if "$binary" --bogus 2>err.txt; then fail "a bad flag was accepted"; fi
grep -q 'unknown option --bogus' err.txt || fail "bad flag message: $(cat err.txt)"

start_jobstated "$binary" db first.log
grep -q '^  export JOBSTATE_KEY=jsk_' first.log || fail "no key printed"
[[ -f db/jobstated-keys.json ]] || fail "no key file"
export JOBSTATE_KEY=$(grep -o 'jsk_[0-9a-f_]*' first.log | head -1)
# The printed "create a job" command, pasted as is.
create=$(grep -A1 '# create a job' first.log | tail -1)
answer=$(eval "$create")
grep -q '"status":"pending"' <<<"$answer" || fail "printed curl: $answer"

made=$("$binary" keys create --account other --db db)
other_key=$(echo "$made" | sed -n 's/^key: *//p')
other_id=$(echo "$made" | sed -n 's/^key id: *//p')
listed=$("$binary" keys list --db db)
grep -q "$other_id  account=other" <<<"$listed" || fail "keys list: $listed"
code=$(curl -s -o /dev/null -w '%{http_code}' "$JOBSTATED/v1/native/projects/p/jobs" \
  -H "Authorization: Bearer $other_key")
[[ $code == 200 ]] || fail "new key: $code"
revoked=$("$binary" keys revoke "$other_id" --db db)
grep -q revoked <<<"$revoked" || fail "keys revoke: $revoked"
code=$(curl -s -o /dev/null -w '%{http_code}' "$JOBSTATED/v1/native/projects/p/jobs" \
  -H "Authorization: Bearer $other_key")
[[ $code == 401 ]] || fail "revoked key: $code"
"$binary" keys revoke nope --db db 2>/dev/null && fail "revoking an unknown key"

stop_jobstated
grep -q 'SIGTERM, draining' first.log || fail "no drain message"
grep -q 'jobstated: stopped' first.log || fail "no stop message"

start_jobstated "$binary" db second.log
grep -q 'export JOBSTATE_KEY' second.log && fail "second start printed a key"
listing=$(curl -sf "$JOBSTATED/v1/native/projects/default/jobs" \
  -H "Authorization: Bearer $JOBSTATE_KEY")
grep -q '"kind":"parse"' <<<"$listing" || fail "the job of the first run is gone"
stop_jobstated

# A stop that cannot finish is abandoned after --stop-timeout, naming what
# it abandons, with exit status 2; a second signal abandons it at once. What
# holds the stop up: a client that asked for a page of about 11 MB and never
# reads it, so the answer's write cannot end and the drain waits for it (up
# to its own 10 s).
head -c 900000 /dev/zero | tr '\0' x | sed 's/^/{"kind": "big", "input": {"blob": "/; s/$/"}}/' >big.json
for how in timeout second-signal; do
  start_jobstated "$binary" db "stop-$how.log" --stop-timeout 2
  for _ in $(seq 1 12); do
    curl -sf -o /dev/null -X POST "$JOBSTATED/v1/native/projects/big/jobs" \
      -H "Authorization: Bearer $JOBSTATE_KEY" --data-binary @big.json ||
      fail "creating a big job"
  done
  exec 3<>"/dev/tcp/$(sed 's/:/\//' <<<"${JOBSTATED#http://}")"
  printf 'GET /v1/native/projects/big/jobs?limit=12 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n' \
    "$JOBSTATE_KEY" >&3
  sleep 0.5
  began=$SECONDS
  kill -TERM "$PID"
  if [[ $how == second-signal ]]; then
    sleep 0.3
    kill -INT "$PID"
  fi
  rc=0
  wait "$PID" || rc=$?
  PID=
  exec 3<&-
  ((rc == 2)) || fail "stop ($how) exited with $rc: $(cat "stop-$how.log")"
  ((SECONDS - began <= 8)) || fail "stop ($how) took $((SECONDS - began)) s"
  grep -q 'stop abandoned' "stop-$how.log" || fail "no abandon message: $(cat "stop-$how.log")"
  grep -q 'connections open' "stop-$how.log" || fail "abandon message lacks counts"
done
grep -q 'after --stop-timeout' stop-timeout.log || fail "timeout not named"
grep -q 'after a second signal' stop-second-signal.log || fail "second signal not named"
echo "jobstated process test: ok"
