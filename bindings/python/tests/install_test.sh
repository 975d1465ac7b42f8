#!/usr/bin/env bash
# Installs jobstate (library and Python package) into a fresh prefix, then
# imports the package from there, in a process that cannot see the build
# tree, and runs a job through it.
#
# Usage: install_test.sh CMAKE BUILD_DIR WORK_DIR PYTHON
set -euo pipefail

if (($# != 4)); then
  echo "usage: $0 CMAKE BUILD_DIR WORK_DIR PYTHON" >&2
  exit 2
fi
cmake=$1 build_dir=$2 work_dir=$3 python=$4

prefix="$work_dir/prefix"
rm -rf "$work_dir"
mkdir -p "$work_dir"
echo "== cmake --install $build_dir --prefix $prefix"
"$cmake" --install "$build_dir" --prefix "$prefix" >"$work_dir/install.log"

module=$(find "$prefix" -name '_jobstate*.so' -print -quit)
if [[ -z $module ]]; then
  echo "install_test: the extension module was not installed" >&2
  exit 1
fi
site_dir=$(dirname "$(dirname "$module")")
echo "== import jobstate from $site_dir"

cd "$work_dir"
env -u PYTHONPATH -u LD_LIBRARY_PATH PYTHONPATH="$site_dir" \
  PYTHONDONTWRITEBYTECODE=1 "$python" - "$site_dir" "$work_dir/db" <<'PY'
import os
import sys

import jobstate

site_dir, db = sys.argv[1], sys.argv[2]
assert os.path.realpath(jobstate.__file__).startswith(os.path.realpath(site_dir)), jobstate.__file__
with jobstate.Engine(db, durability="no_sync") as engine:
    job = engine.create("acme", "alpha", "install-test", {"n": 1})
    engine.start(job)
    done = engine.complete(job, {"ok": True})
    assert engine.wait(job, timeout=5).status is jobstate.Status.SUCCEEDED
    assert done.result == {"ok": True}
print("install_test: the installed package works:", jobstate.__file__)
PY
