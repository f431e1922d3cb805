#!/usr/bin/env bash
# A device call copies the whole working tree and takes at most 64 MiB; the recipe's data, start and wheels
# leave room for fer_core/ and the two scripts it runs only. So everything else steps out of the tree for
# the call and comes back after (nothing is deleted: it is moved to STASH and back).
#   experiments/gpu_stash.sh out    # before the call
#   experiments/gpu_stash.sh back   # after it, always (also after a failed call)
set -euo pipefail
stash=${STASH:-/tmp/unveil-devstash}
keep=(.git .gitignore .gpu .whl .venv fer_core experiments)
keep_in_experiments=(gpu_real_photo_recipe.sh gpu_pack.py gpu_stash.sh)
case ${1:-} in
out)
    if [ -e "$stash" ]; then echo "$stash exists: run '$0 back' first" >&2; exit 1; fi
    mkdir -p "$stash/experiments"
    for item in .[!.]* *; do
        [[ " ${keep[*]} " == *" $item "* ]] || mv "$item" "$stash/"
    done
    for item in experiments/* experiments/.[!.]*; do
        [ -e "$item" ] || continue
        [[ " ${keep_in_experiments[*]} " == *" ${item#experiments/} "* ]] || mv "$item" "$stash/experiments/"
    done
    # .venv is ignored, so it does not travel; what does (git ls-files + untracked) is listed here.
    du -scb fer_core experiments | tail -1   # the tree that travels; carry adds .gpu and .whl files
    ;;
back)
    [ -d "$stash" ] || { echo "nothing stashed in $stash" >&2; exit 1; }
    for item in "$stash"/experiments/* "$stash"/experiments/.[!.]*; do
        [ -e "$item" ] && mv "$item" experiments/
    done
    rmdir "$stash/experiments"
    for item in "$stash"/* "$stash"/.[!.]*; do
        [ -e "$item" ] && mv "$item" .
    done
    rmdir "$stash"
    git status --short | head
    ;;
*)
    echo "usage: $0 out|back" >&2; exit 2
    ;;
esac
