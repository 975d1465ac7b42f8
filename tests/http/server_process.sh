# Helpers for the tests that run jobstated as a process (sourced).
#   start_jobstated BINARY DB_DIR LOG [FLAG...]
#                                      → sets JOBSTATED (base URL), PID
#   stop_jobstated                     → SIGTERM, waits, checks exit code 0

start_jobstated() {
  local binary=$1 db=$2 log=$3
  "$binary" --listen 127.0.0.1:0 --db "$db" "${@:4}" >"$log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do
    if grep -q 'listening on http://' "$log"; then
      JOBSTATED=$(grep -o 'listening on http://[0-9.:]*' "$log" | sed 's/listening on //')
      export JOBSTATED
      return 0
    fi
    if ! kill -0 "$PID" 2>/dev/null; then
      echo "jobstated exited early:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "jobstated did not start:" >&2
  cat "$log" >&2
  return 1
}

stop_jobstated() {
  kill -TERM "$PID"
  local rc=0
  wait "$PID" || rc=$?
  PID=
  if ((rc != 0)); then
    echo "jobstated exited with $rc" >&2
    return 1
  fi
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
