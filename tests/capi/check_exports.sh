#!/usr/bin/env bash
# Fails when libjobstate.so exports a symbol that is not part of its public
# API, and prints each offender with the rule it breaks.
#
# Usage: check_exports.sh LIBRARY INCLUDE_DIR
#   LIBRARY      the shared library (libjobstate.so)
#   INCLUDE_DIR  the public headers (include/jobstate)
#
# Every defined dynamic symbol (nm -D --defined-only) must be one of:
#  1. a C function jobstate_* declared in jobstate.h (and every function
#     declared there must be exported);
#  2. a C++ entity of namespace jobstate whose own name is public: every
#     component of its qualified name appears in the public headers, and
#     none is an internal scope (engine_detail, store, model, capi,
#     engine::impl; jobstate::wire is the public JSON reader of
#     <jobstate/json_reader.hpp>). Typeinfo and vtables of such classes count too;
#  3. what the compiler must emit for the standard library and Boost:
#     vague-linkage entities (weak functions W, weak objects V such as
#     typeinfo and vtables, unique objects u such as template statics) of
#     std::, boost:: and __gnu_cxx:: templates and classes (and Boost.Asio's
#     boost_asio_*_fn:: customization points), which their
#     headers declare with default visibility (libstdc++'s namespace std,
#     Boost.Asio's push_options.hpp), so that -fvisibility=hidden cannot hide
#     them. GCC gives a member function template of such a class, and its
#     local statics, default visibility even when instantiated on a hidden
#     type (e.g. io_context's executor running a lambda of lib/engine); those
#     are counted and shown with -v, not failed: only a linker version script
#     could hide them. Never a strong definition (T, D, B, R).
# Anything else fails, including any LMDB (mdb_*) symbol.
#
# Usage: check_exports.sh [-v] LIBRARY INCLUDE_DIR
set -euo pipefail

verbose=0
if [[ ${1:-} == -v ]]; then
  verbose=1
  shift
fi
if (($# != 2)); then
  echo "usage: $0 [-v] LIBRARY INCLUDE_DIR" >&2
  exit 2
fi
library=$1 include_dir=$2

for tool in nm c++filt awk; do
  command -v "$tool" >/dev/null || { echo "check_exports: $tool is missing" >&2; exit 2; }
done
[[ -f $library ]] || { echo "check_exports: no such library: $library" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The C functions jobstate.h declares.
grep -ohE '\bjobstate_[a-z0-9_]+[[:space:]]*\(' "$include_dir/jobstate.h" |
  sed -E 's/[[:space:]]*\($//' | sort -u >"$work/c_functions"
# Every identifier of the public C++ headers.
cat "$include_dir"/*.hpp | sed -E 's://.*$::' |
  grep -oE '[A-Za-z_][A-Za-z0-9_]*' | sort -u >"$work/identifiers"

# type<TAB>mangled<TAB>demangled, one line per exported symbol.
nm -D --defined-only "$library" | awk 'NF >= 3 { print $2 "\t" $3 }' >"$work/raw"
cut -f2 "$work/raw" | c++filt >"$work/demangled"
paste "$work/raw" "$work/demangled" >"$work/symbols"

awk -F'\t' -v verbose="$verbose" -v c_functions="$work/c_functions" -v identifiers="$work/identifiers" '
BEGIN {
  while ((getline line < c_functions) > 0) declared[line] = 1
  while ((getline line < identifiers) > 0) public_id[line] = 1
  internal_re = "jobstate::(engine_detail|store|model|capi)::|jobstate::engine::impl"
  offenders = 0; allowed_vague = 0; public_cxx = 0; on_internal = 0
}
function offend(type, name, why) {
  printf "  %s %s\n      -> %s\n", type, name, why
  offenders++
}
# The qualified name an entity is declared with: the demangled text without
# template arguments, parameters, ABI tags, qualifiers and return type.
function own_name(d,   prefixes, i, out, depth, c, n, tokens) {
  n = split("typeinfo name for |typeinfo for |vtable for |VTT for |construction vtable for |guard variable for |non-virtual thunk to |virtual thunk to |covariant return thunk to |TLS init function for |TLS wrapper function for ", prefixes, "|")
  for (i = 1; i <= n; i++) {
    if (prefixes[i] != "" && index(d, prefixes[i]) == 1) d = substr(d, length(prefixes[i]) + 1)
  }
  gsub(/\[abi:[a-z0-9]+\]/, "", d)
  # A conversion operator names a type where other functions have none.
  if (match(d, /::operator [^(]*\(\)/)) d = substr(d, 1, RSTART - 1) "::operator_conversion()"
  gsub(/operator\(\)/, "operator_call", d)
  out = ""; depth = 0
  for (i = 1; i <= length(d); i++) {
    c = substr(d, i, 1)
    if (c == "<" || c == "(" || c == "{" || c == "[") { depth++; continue }
    if (c == ">" || c == ")" || c == "}" || c == "]") { depth--; continue }
    if (depth == 0) out = out c
  }
  sub(/( const| volatile| &&| &)+$/, "", out)
  n = split(out, tokens, " ")
  return tokens[n]
}
{
  type = $1; mangled = $2; d = $3
  if (mangled ~ /^jobstate_/) {
    if (!(mangled in declared)) offend(type, d, "a C symbol not declared in jobstate.h")
    else if (type != "T") offend(type, d, "a jobstate_* symbol that is not a function")
    else exported[mangled] = 1
    next
  }
  if (mangled !~ /^_Z/) { offend(type, d, "a C symbol outside the jobstate_* API"); next }
  name = own_name(d)
  strong = (type ~ /^[TDBRGSi]$/)
  if (name ~ /^jobstate::/) {
    if (name ~ ("^(" internal_re ")") || (name "::") ~ internal_re) {
      offend(type, d, "an internal jobstate entity (" name ")"); next
    }
    n = split(substr(name, 11), parts, "::")
    bad = ""
    for (i = 1; i <= n; i++) {
      part = parts[i]; sub(/^~/, "", part)
      if (part ~ /^operator/ || part == "") continue
      if (!(part in public_id)) { bad = part; break }
    }
    if (bad != "") { offend(type, d, "\"" bad "\" is not declared in the public headers"); next }
    public_cxx++
    next
  }
  # boost_asio_*_fn: the namespaces of the Boost.Asio customization point
  # objects (query, prefer, execute, ...).
  if (name ~ /^(std|boost|__gnu_cxx|__cxxabiv1|boost_asio_[a-z_]+_fn)::/) {
    if (strong) { offend(type, d, "a strong definition of a standard library or Boost symbol"); next }
    if (d ~ internal_re) {
      on_internal++
      if (verbose) printf "  (allowed) %s %s\n", type, d
    }
    allowed_vague++
    next
  }
  if (d ~ /mdb_|lmdb/) { offend(type, d, "an LMDB symbol"); next }
  offend(type, d, "not in namespace jobstate, std or boost (" name ")")
}
END {
  while ((getline line < c_functions) > 0) {
    if (!(line in exported)) { printf "  (missing) %s\n      -> declared in jobstate.h but not exported\n", line; offenders++ }
  }
  printf "check_exports: %d public C++ symbols, %d C functions, %d vague-linkage std/Boost instantiations allowed (%d of them on internal types)\n", public_cxx, length(exported), allowed_vague, on_internal
  if (offenders > 0) {
    printf "check_exports: FAILED: %d symbol(s) above must not be exported\n", offenders
    exit 1
  }
  print "check_exports: OK"
}' "$work/symbols"
