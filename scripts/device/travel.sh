#!/usr/bin/env bash
# What travels to the GPU machine: the device tool sends every tracked and
# untracked-not-ignored file plus the carried paths, 64 MiB in all. The test
# fixtures (about 40 MB) and the bundle (about 36 MiB) do not fit together,
# and the GPU check reads only two fixture folders (selfcheck.py: pipeline,
# img2img). So, around the device call:
#
#   scripts/device/travel.sh light     # the other fixture folders leave git's index and are ignored
#   run(...)                            # the device call
#   scripts/device/travel.sh restore   # the index and .git/info/exclude as they were
#
# Nothing on disk changes; commit nothing between the two.
set -euo pipefail
cd "$(dirname "$0")/../.."
keep="pipeline img2img"
begin="# travel.sh light: begin" end="# travel.sh light: end"
exclude=.git/info/exclude

case "${1:-}" in
light)
    if grep -qF "$begin" "$exclude" 2>/dev/null; then echo "already light" >&2; exit 1; fi
    folders=()
    for folder in Tests/Fixtures/*/; do
        name="$(basename "$folder")"
        [[ " $keep " == *" $name "* ]] || folders+=("Tests/Fixtures/$name")
    done
    git rm -r -q --cached --ignore-unmatch -- "${folders[@]}"
    { echo "$begin"; for folder in "${folders[@]}"; do echo "/$folder/"; done; echo "$end"; } >> "$exclude"
    size=$( (git ls-files -z; git ls-files -z -o --exclude-standard) | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
    echo "tree that travels, before carried paths: $((size >> 20)) MiB"
    ;;
restore)
    sed -n "\|^$begin\$|,\|^$end\$|p" "$exclude" | grep -v "^#" | sed "s|^/||; s|/\$||" | xargs -r git reset -q HEAD --
    sed -i "\|^$begin\$|,\|^$end\$|d" "$exclude"
    git status --short | sed -n 1,10p   # sed reads to the end: no SIGPIPE for pipefail to report
    ;;
*)
    echo "usage: $0 light|restore" >&2
    exit 2
    ;;
esac
