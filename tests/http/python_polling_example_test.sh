#!/usr/bin/env bash
# Runs the jobs API document's Python polling example
# (tests/http/jobs_api_polling_example.py, copied unchanged from
# /work/shared/api-docs/jobs-api-status-and-rerun.txt) against jobstated.
# Only its three placeholders are filled in, as the document asks a reader
# to: API_KEY, JOB_ID and BASE_URL. It needs Debian's python3-requests.
# Usage: python_polling_example_test.sh JOBSTATED SOURCE_DIR WORK_DIR
set -euo pipefail
binary=$1
source_dir=$2
work=$3
source "$(dirname "$0")/server_process.sh"
rm -rf "$work" && mkdir -p "$work" && cd "$work"
trap 'if [[ -n ${PID:-} ]]; then kill "$PID" 2>/dev/null || true; fi' EXIT
/usr/bin/python3 -c 'import requests' || fail "python3-requests is missing (scripts/install-deps)"

start_jobstated "$binary" db server.log
key=$(grep -o 'jsk_[0-9a-f_]*' server.log | head -1)
jobs="$JOBSTATED/v1/native/projects/default/jobs"
auth="Authorization: Bearer $key"
id=$(curl -sf -X POST "$jobs" -H "$auth" -d '{"kind": "document_processing"}' | jq -r .id)
curl -sf -X POST "$jobs/$id/start" -H "$auth" >/dev/null
curl -sf -X POST "$jobs/$id/progress" -H "$auth" -d '{"percent": 50}' >/dev/null
# A worker finishes the job while the example polls (every 5 s).
(sleep 2 && curl -sf -X POST "$jobs/$id/complete" -H "$auth" \
  -d '{"result": {"documentsProcessed": 50, "errors": 0}}' >/dev/null) &
worker=$!

sed -e "s|your_api_key|$key|" -e "s|job_abc123|$id|" \
  -e "s|https://PLATFORM-URL-PLACEHOLDER/v1/api|$JOBSTATED/v1/api|" \
  "$source_dir/tests/http/jobs_api_polling_example.py" >example.py
timeout 60 /usr/bin/python3 example.py | tee output.txt
grep -qx 'Job running: 50%' output.txt || fail "no progress line"
grep -qx "Job completed: {'documentsProcessed': 50, 'errors': 0}" output.txt ||
  fail "no completion line"
wait "$worker"
stop_jobstated
echo "python polling example: ok"
