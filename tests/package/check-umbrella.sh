#!/usr/bin/env bash
# <jobstate/jobstate.hpp> says it is the whole public C++ API: it must
# include every other C++ header of include/jobstate/ (jobstate.h, the C API,
# is not C++).
#
# Usage: check-umbrella.sh INCLUDE_DIR   (the directory holding jobstate/)
set -euo pipefail

if (($# != 1)); then
  echo "usage: $0 INCLUDE_DIR" >&2
  exit 2
fi
dir=$1/jobstate
umbrella=$dir/jobstate.hpp
missing=0
for header in "$dir"/*.hpp; do
  name=$(basename "$header")
  [[ $name == jobstate.hpp ]] && continue
  if ! grep -q "^#include <jobstate/$name>" "$umbrella"; then
    echo "$umbrella does not include <jobstate/$name>" >&2
    missing=1
  fi
done
((missing == 0)) && echo "check-umbrella: jobstate.hpp includes every public C++ header"
exit $missing
