#!/usr/bin/env bash
# Dry-run support for the launch scripts (source it first, with the script's arguments in
# place): a leading --dry-run is consumed and sets DRY_RUN=1; `run CMD...` then prints each
# command, one a line, shell-quoted so that it can be pasted back, instead of running it.
DRY_RUN=0
if [ "${1:-}" = "--dry-run" ]; then DRY_RUN=1; shift; fi

# quote ARG: ARG as the shell reads it back; plain words stay bare, others get single quotes.
quote() {
  if [[ "$1" =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then printf '%s' "$1"
  else printf "'%s'" "${1//\'/\'\\\'\'}"; fi
}

# run CMD...: runs it, or prints it (one line, shell-quoted) under --dry-run.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    local line="" arg
    for arg in "$@"; do line+="${line:+ }$(quote "$arg")"; done
    printf '%s\n' "$line"
  else
    "$@"
  fi
}

# run_all CMD...: like run, in the background (so slices start together); in a dry run it
# prints in order. Follow with `wait_all`.
PIDS=()
run_all() {
  if [ "$DRY_RUN" = 1 ]; then run "$@"; else "$@" & PIDS+=($!); fi
}
wait_all() {
  local status=0 pid
  for pid in "${PIDS[@]}"; do wait "$pid" || status=$?; done
  return $status
}

