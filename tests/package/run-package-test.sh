#!/usr/bin/env bash
# Builds and runs a consumer project against jobstate in one of three ways:
#   install       cmake --install BUILD_DIR into a fresh prefix, then
#                 find_package(jobstate) from that prefix;
#   build-tree    find_package(jobstate) from BUILD_DIR (its export());
#   subdirectory  add_subdirectory(SOURCE_DIR).
# The consumer projects (neither sets the C++ standard: the package must
# carry it):
#   consumer      tests/package/consumer, a small program (the default);
#   readme        tests/package/readme: the first ```cpp block of README.md,
#                 extracted verbatim, built, and run in an empty directory.
#
# Usage: run-package-test.sh MODE SOURCE_DIR BUILD_DIR WORK_DIR [PROJECT]
# Environment (set by ctest, see tests/CMakeLists.txt): CMAKE_COMMAND,
# CMAKE_GENERATOR, CMAKE_BUILD_TYPE, CMAKE_CXX_COMPILER, CMAKE_C_COMPILER,
# BUILD_JOBS.
set -euo pipefail

if (($# != 4 && $# != 5)); then
  echo "usage: $0 install|build-tree|subdirectory SOURCE_DIR BUILD_DIR WORK_DIR [consumer|readme]" >&2
  exit 2
fi
mode=$1 source_dir=$2 build_dir=$3 work_dir=$4 project=${5:-consumer}

cmake=${CMAKE_COMMAND:-cmake}
consumer_source="$source_dir/tests/package/$project"
consumer_build="$work_dir/$project-build"
configure=(
  "$cmake" -S "$consumer_source" -B "$consumer_build"
  -G "${CMAKE_GENERATOR:-Ninja}"
  -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}"
  -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
  -DCMAKE_FIND_PACKAGE_NO_SYSTEM_PACKAGE_REGISTRY=ON
)
[[ -n ${CMAKE_CXX_COMPILER:-} ]] &&
  configure+=(-DCMAKE_CXX_COMPILER="$CMAKE_CXX_COMPILER")

# The consumer's build directory is kept between runs (an incremental build
# is much faster in subdirectory mode); the install prefix is not.
mkdir -p "$work_dir"
case $project in
  consumer) ;;
  readme)
    # The README's first C++ block, exactly as a reader would copy it.
    example="$work_dir/readme_example.cpp"
    awk '/^```cpp[[:space:]]*$/ { inside = 1; next }
         inside && /^```[[:space:]]*$/ { exit }
         inside { print }' "$source_dir/README.md" >"$example"
    if [[ ! -s $example ]]; then
      echo "$0: no \`\`\`cpp block in $source_dir/README.md" >&2
      exit 1
    fi
    echo "== the README's example"
    cat "$example"
    configure+=(-DREADME_EXAMPLE="$example")
    ;;
  *)
    echo "$0: unknown project '$project'" >&2
    exit 2
    ;;
esac
case $mode in
  install)
    prefix="$work_dir/prefix"
    rm -rf "$prefix"
    echo "== cmake --install $build_dir --prefix $prefix"
    "$cmake" --install "$build_dir" --prefix "$prefix"
    configure+=(-DJOBSTATE_CONSUMER_ADD_SUBDIRECTORY=OFF
      -DCMAKE_PREFIX_PATH="$prefix" -Djobstate_DIR=jobstate_DIR-NOTFOUND)
    expected_dir="$prefix"
    ;;
  build-tree)
    configure+=(-DJOBSTATE_CONSUMER_ADD_SUBDIRECTORY=OFF
      -Djobstate_DIR="$build_dir")
    expected_dir="$build_dir"
    ;;
  subdirectory)
    configure+=(-DJOBSTATE_CONSUMER_ADD_SUBDIRECTORY=ON
      -DJOBSTATE_SOURCE_DIR="$source_dir")
    # jobstate's own project() enables C as well.
    [[ -n ${CMAKE_C_COMPILER:-} ]] &&
      configure+=(-DCMAKE_C_COMPILER="$CMAKE_C_COMPILER")
    expected_dir=""
    ;;
  *)
    echo "$0: unknown mode '$mode'" >&2
    exit 2
    ;;
esac

echo "== configure the consumer ($mode)"
"${configure[@]}"

# find_package must have found the package under test, not another one.
if [[ -n $expected_dir ]]; then
  found=$(sed -n 's/^jobstate_DIR:[A-Z]*=//p' "$consumer_build/CMakeCache.txt")
  case $(realpath -m "$found")/ in
    "$(realpath -m "$expected_dir")"/*) ;;
    *)
      echo "$0: found jobstate in '$found', expected under '$expected_dir'" >&2
      exit 1
      ;;
  esac
fi

echo "== build the consumer"
"$cmake" --build "$consumer_build" --parallel "${BUILD_JOBS:-2}"

echo "== run the consumer"
case $project in
  consumer) "$consumer_build/consumer" ;;
  readme)
    # In an empty directory: the example keeps its database in ./jobs-db.
    run_dir="$work_dir/run"
    rm -rf "$run_dir"
    mkdir -p "$run_dir"
    (cd "$run_dir" && "$consumer_build/readme_example")
    rm -rf "$run_dir"
    ;;
esac
