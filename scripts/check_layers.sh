#!/usr/bin/env bash
# Checks the dependency direction of the sources: a unit (include/googlenet/<layer>/x.h with
# src/<layer>/x.cpp, or apps/x.cpp) may include googlenet headers of its own layer or of the
# layers below it, never above, and no units may include each other in a cycle. Prints each
# offending include or cycle and exits 1; ctest runs it as `layers`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Bottom to top.
readonly LAYERS="util io data model engine report eval train perf apps"

find include/googlenet src apps -type f \( -name '*.h' -o -name '*.cpp' \) | sort |
  xargs grep -H -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"googlenet/' /dev/null |
  awk -v layers="$LAYERS" '
    function unit_of(path,    parts, n, name) {
      n = split(path, parts, "/")
      name = parts[n]
      sub(/\.(h|cpp)$/, "", name)
      if (parts[1] == "include" && parts[2] == "googlenet" && n == 4) return parts[3] "/" name
      if (parts[1] == "src" && n == 3) return parts[2] "/" name
      if (parts[1] == "apps" && n == 2) return "apps/" name
      return ""
    }
    function layer_of(unit) { return substr(unit, 1, index(unit, "/") - 1) }
    function visit(u,    i, j, v) {  # depth-first; state 1: on the path, 2: done
      state[u] = 1
      path[++depth] = u
      for (i = 1; i <= out_count[u]; ++i) {
        v = out[u, i]
        if (state[v] == 1) {
          cycle = v
          for (j = depth; j >= 1 && path[j] != v; --j) cycle = path[j] " -> " cycle
          print "cycle: " v " -> " cycle
          failed = 1
        } else if (state[v] == 0) {
          visit(v)
        }
      }
      --depth
      state[u] = 2
    }
    BEGIN {
      n = split(layers, names, " ")
      for (i = 1; i <= n; ++i) rank[names[i]] = i
    }
    {
      file = substr($0, 1, index($0, ":") - 1)
      match($0, /"googlenet\/[^"]+"/)
      header = substr($0, RSTART + 1, RLENGTH - 2)
      from = unit_of(file)
      to = unit_of("include/" header)
      if (from == "" || !(layer_of(from) in rank)) {
        print file ": not in a layer (" layers ")"; failed = 1; next
      }
      if (to == "" || !(layer_of(to) in rank)) {
        print file ": includes " header ", which is not in a layer"; failed = 1; next
      }
      if (rank[layer_of(to)] > rank[layer_of(from)]) {
        print file ": includes " header ": " layer_of(to) " is above " layer_of(from) \
              " (layers, bottom to top: " layers ")"
        failed = 1
      }
      if (from != to && !((from, to) in seen)) {
        seen[from, to] = 1
        out[from, ++out_count[from]] = to
        units[from] = 1
      }
    }
    END {
      for (u in units) if (state[u] == 0) visit(u)
      if (failed) exit 1
      print "layers: every include runs down (" layers "), no cycles"
    }'
