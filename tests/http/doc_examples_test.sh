#!/usr/bin/env bash
# Runs every ```sh block of docs/http-api.md, in order, against a fresh
# jobstated; each example checks its own answer (curl -f, jq -e, grep).
# Usage: doc_examples_test.sh JOBSTATED SOURCE_DIR WORK_DIR
set -euo pipefail
binary=$1
source_dir=$2
work=$3
source "$(dirname "$0")/server_process.sh"
rm -rf "$work" && mkdir -p "$work" && cd "$work"
trap 'if [[ -n ${PID:-} ]]; then kill "$PID" 2>/dev/null || true; fi' EXIT

awk '/^```sh$/{inside=1; next} /^```$/{inside=0} inside{print}' \
  "$source_dir/docs/http-api.md" >examples.sh
blocks=$(grep -c '^```sh$' "$source_dir/docs/http-api.md")
((blocks >= 8)) || fail "only $blocks examples found"

start_jobstated "$binary" db server.log
KEY=$(grep -o 'jsk_[0-9a-f_]*' server.log | head -1)
export KEY
bash -euo pipefail -x examples.sh >examples.out 2>&1 || {
  cat examples.out >&2
  fail "an example of docs/http-api.md failed (last command above)"
}
stop_jobstated
echo "docs/http-api.md: $blocks example blocks ran"
