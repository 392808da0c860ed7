#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/layers.sh - keeps src/DESIGN.md and the code's include graph honest.
#
# 1. Layers: the order is the numbered list in section "Layers" of
#    src/DESIGN.md (lines "N. `name` ..."; that list is the authority, this
#    script only reads it).  A file's layer is its directory under src/
#    (src/main.c is the layer `main.c`).  Every `#include "..."` under src/
#    may name its own layer or an earlier one; an include of a later layer
#    fails, naming file:line and both layers.  A directory missing from the
#    list fails too.
# 2. The map is complete and current: every file under src/ is named in
#    src/DESIGN.md (as name.c, name.h or name.[ch]), and every source file
#    named there in backquotes (`name.c`, `dir/name.h`, `name.[ch]`) exists.
#
# Usage: sh tests/layers.sh [TREE]   (TREE: the checkout, default: this one)
# Exits 0, or 1 after listing every problem.  POSIX sh, awk, grep, find.
set -eu

cd "${1:-$(dirname "$0")/..}"
design=src/DESIGN.md
[ -r "$design" ] || { echo "layers: $design missing" >&2; exit 1; }

# Sections are titled netifd-style: a line, then a line of dashes.
order=$(awk '
    /^---*$/ { inl = (prev == "Layers"); prev = $0; next }
    inl && /^[0-9]+\. `[^`]+`/ { s = $0; sub(/^[0-9]+\. `/, "", s); sub(/`.*/, "", s); print s }
    { prev = $0 }
' "$design" | tr '\n' ' ' | sed 's/ $//')
[ -n "$order" ] || { echo "layers: no numbered list in section Layers of $design" >&2; exit 1; }

fail=0

# Every directory of src/ (and main.c) has a place in the order.
for d in src/*; do
    [ -d "$d" ] || case $d in *.c) ;; *) continue ;; esac
    name=${d#src/}
    case " $order " in
    *" $name "*) ;;
    *) echo "$d: layer '$name' is not in $design's list ($order)"; fail=1 ;;
    esac
done

# Every quoted include goes down the order (or stays in its layer).
files=$(find src -type f \( -name '*.c' -o -name '*.h' \) | sort)
# shellcheck disable=SC2086 # file names under src/ have no spaces
awk -v order="$order" -v design="$design" '
    BEGIN { n = split(order, L, " "); for (i = 1; i <= n; i++) rank[L[i]] = i; bad = 0 }
    function layer_of(path,   p) { p = path; sub(/^src\//, "", p); sub(/\/.*/, "", p); return p }
    /^[ \t]*#[ \t]*include[ \t]*"/ {
        inc = $0; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
        from = layer_of(FILENAME)
        to = inc; if (to ~ /\//) sub(/\/.*/, "", to); else to = from
        if (!(to in rank)) {
            printf "%s:%d: includes \"%s\": layer %s is not in %s\n", FILENAME, FNR, inc, to, design
            bad = 1
        } else if (inc ~ /_(int|internal|impl)\.h$/ && to != from) {
            printf "%s:%d: layer %s includes \"%s\", private to layer %s\n", FILENAME, FNR,
                   from, inc, to
            bad = 1
        } else if (rank[to] > rank[from]) {
            printf "%s:%d: layer %s (%d) includes \"%s\" of layer %s (%d): up the order %s\n",
                   FILENAME, FNR, from, rank[from], inc, to, rank[to], order
            bad = 1
        }
    }
    END { exit bad }
' $files || fail=1

# Every file under src/ is on the map.
for f in $files; do
    b=${f##*/}
    stem=${b%.*}
    ext=${b##*.}
    grep -Eq "(^|[^A-Za-z0-9_])$stem\\.($ext|\\[ch\\])([^A-Za-z0-9_]|\$)" "$design" ||
        { echo "$f: not named in $design"; fail=1; }
done

# Every source file the map names exists.
named=$(awk '{
    while (match($0, /`[a-z0-9_]+(\/[a-z0-9_]+)?\.(c|h|\[ch\])`/)) {
        print substr($0, RSTART + 1, RLENGTH - 2); $0 = substr($0, RSTART + RLENGTH)
    }
}' "$design" | sort -u)
set -f # the names hold [ch]: no globbing
for t in $named; do
    stem=${t%.*}
    case $t in
    */*) found=$(ls "src/$stem.c" "src/$stem.h" 2>/dev/null || true) ;;
    *) found=$(find src -name "$stem.c" -o -name "$stem.h") ;;
    esac
    case $t in
    *.c) found=$(echo "$found" | grep '\.c$' || true) ;;
    *.h) found=$(echo "$found" | grep '\.h$' || true) ;;
    esac
    [ -n "$found" ] || { echo "$design: names $t, which is not under src/"; fail=1; }
done

if [ "$fail" -ne 0 ]; then
    echo "layers: FAILED (the order and the map: $design)"
    exit 1
fi
echo "layers: ok ($(echo "$files" | wc -l) files; order: $order)"
