#!/usr/bin/env bash
# Stops the etcd + kube-apiserver started by scripts/kube-up.sh DIR (SIGTERM, then SIGKILL after
# 10 s). Only the pids recorded in DIR/pids are signalled, and only while their command line still
# refers to DIR (so a recycled pid is never hit). Keeps DIR (logs, certs, etcd data) unless
# --purge is given. Safe to run twice.
set -euo pipefail

log() { printf '[kube-down] %s\n' "$*" >&2; }
purge=0
args=()
for a in "$@"; do
  case "$a" in
    --purge) purge=1 ;;
    *) args+=("$a") ;;
  esac
done
[ "${#args[@]}" -eq 1 ] || { echo "usage: $0 [--purge] DIR" >&2; exit 2; }
[ -d "${args[0]}" ] || { log "${args[0]}: no such directory"; exit 0; }
DIR="$(cd "${args[0]}" && pwd)"

ours() { # pid -> true if it is alive and was started for DIR
  [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$DIR/"
}

if [ -f "$DIR/pids" ]; then
  # apiserver first, then etcd (reverse start order)
  for name in kube-apiserver etcd; do
    pid="$(awk -v n="$name" '$1 == n { print $2 }' "$DIR/pids")"
    [ -n "$pid" ] || continue
    if ! ours "$pid"; then log "$name ($pid) not running"; continue; fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do ours "$pid" || break; sleep 0.1; done
    if ours "$pid"; then log "$name ($pid) did not stop; SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
    log "stopped $name ($pid)"
  done
  rm -f "$DIR/pids"
else
  log "no $DIR/pids: nothing to stop"
fi
if [ "$purge" = 1 ]; then
  rm -rf "$DIR"
  log "removed $DIR"
fi
