#!/usr/bin/env bash
# A GET of one job on jobstated's native API against nginx serving the same
# bytes as a static file, on the same machine in the same run: wrk with 2
# threads and 64 keep-alive connections, ROUNDS rounds of SECONDS each,
# alternating the two servers so that the machine's noise falls on both.
# Prints each round, the medians and their ratio (jobstated / nginx), and
# the CPU time each server spends per request (from /proc), which a noisy
# shared machine disturbs far less than the rates.
#
# nginx runs with 2 workers and jobstated with its default 2 HTTP threads:
# the same two cores. Both are started here and stopped by PID.
#
# Usage: bench/http_get_vs_nginx.sh JOBSTATED [ROUNDS] [SECONDS]
# Needs wrk, curl, jq and nginx (Debian: wrk curl jq nginx-light).
set -euo pipefail
binary=$1
rounds=${2:-3}
seconds=${3:-10}
work=$(mktemp -d)
chmod 755 "$work"  # nginx workers may run as another user (www-data)
pid=
nginx_pid=
cleanup() {
  if [[ -n $pid ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
  if [[ -n $nginx_pid ]]; then kill -QUIT "$nginx_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
source "$(dirname "$0")/../tests/http/server_process.sh"
nginx=$(command -v nginx || echo /usr/sbin/nginx)

start_jobstated "$binary" "$work/db" "$work/server.log"
pid=$PID
key=$(grep -o 'jsk_[0-9a-f_]*' "$work/server.log" | head -1)
jobs_url="$JOBSTATED/v1/native/projects/bench/jobs"
id=$(curl -sf -X POST "$jobs_url" -H "Authorization: Bearer $key" \
  -d '{"kind": "parse", "input": {"document": "s3://bucket/report.pdf"},
       "correlation_id": "bench-get"}' | jq -r .id)
curl -sf -X POST "$jobs_url/$id/start" -H "Authorization: Bearer $key" \
  >/dev/null
job_path="/v1/native/projects/bench/jobs/$id"
mkdir -p "$work/www$(dirname "$job_path")"
curl -sf "$JOBSTATED$job_path" -H "Authorization: Bearer $key" \
  >"$work/www$job_path"
bytes=$(wc -c <"$work/www$job_path")

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port;
    root $work/www;
    default_type application/json;
  }
}
CONF
"$nginx" -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' \
  2>"$work/nginx/stderr" &
nginx_pid=$!
nginx_url="http://127.0.0.1:$port"
for _ in $(seq 1 50); do
  curl -sf -o /dev/null "$nginx_url$job_path" && break
  sleep 0.1
done
cmp -s <(curl -sf "$nginx_url$job_path") "$work/www$job_path" ||
  fail "nginx does not serve the job's bytes: $(cat "$work/nginx/stderr")"

cat >"$work/auth.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $key"
LUA

# CPU time (user + system, in clock ticks) used so far by the processes
# PIDS, read from /proc: the cost of a request, unlike the rate, does not
# depend on what else the shared machine runs at the time.
cpu_ticks() {
  local total=0 p
  for p in "$@"; do
    read -r -a stat <"/proc/$p/stat"
    total=$((total + stat[13] + stat[14]))
  done
  echo "$total"
}

# One wrk round against URL, measuring the CPU of PIDS: prints
# "requests/s µs-of-CPU-per-request". Fails on any non-2xx answer.
measure() {
  local url=$1 out before after requests
  shift
  before=$(cpu_ticks "$@")
  out=$(wrk -t 2 -c 64 -d "${seconds}s" -s "$work/auth.lua" "$url")
  after=$(cpu_ticks "$@")
  if grep -q 'Non-2xx' <<<"$out"; then fail "non-2xx answers from $url"; fi
  requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
  awk -v rate="$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$out")" \
    -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" \
    'BEGIN {printf "%s %.1f\n", rate, ticks / hz * 1e6 / n}'
}
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

nginx_workers=$(pgrep -P "$nginx_pid" | tr '\n' ' ')
echo "GET of one job ($bytes bytes): wrk -t 2 -c 64, $rounds rounds of ${seconds} s"
for round in $(seq 1 "$rounds"); do
  read -r j_rate j_cpu < <(measure "$JOBSTATED$job_path" "$pid")
  # shellcheck disable=SC2086  # one argument per worker
  read -r n_rate n_cpu < <(measure "$nginx_url$job_path" $nginx_workers)
  echo "$j_rate $j_cpu" >>"$work/jobstated.txt"
  echo "$n_rate $n_cpu" >>"$work/nginx.txt"
  echo "round $round: jobstated $j_rate/s ($j_cpu µs CPU each)," \
    "nginx $n_rate/s ($n_cpu µs CPU each)"
done
j=$(cut -d' ' -f1 "$work/jobstated.txt" | median)
n=$(cut -d' ' -f1 "$work/nginx.txt" | median)
j_cpu=$(cut -d' ' -f2 "$work/jobstated.txt" | median)
n_cpu=$(cut -d' ' -f2 "$work/nginx.txt" | median)
echo "median: jobstated $j requests/s, nginx $n requests/s," \
  "ratio $(awk -v j="$j" -v n="$n" 'BEGIN {printf "%.2f", j / n}')"
echo "median CPU per request: jobstated $j_cpu µs, nginx $n_cpu µs," \
  "ratio $(awk -v j="$j_cpu" -v n="$n_cpu" 'BEGIN {printf "%.2f", n / j}')" \
  "(nginx's cost over jobstated's: the rate ratio on an idle machine)"

kill -QUIT "$nginx_pid"
wait "$nginx_pid" || true
nginx_pid=
stop_jobstated
pid=
