#!/usr/bin/env bash
# Stops or starts again the kube-apiserver of a control plane made by scripts/kube-up.sh DIR,
# on the same port and etcd, as an API server restarting under a running apply does.
#
#   scripts/kube-apiserver.sh DIR stop    # SIGKILL, as a crash; returns when it is gone
#   scripts/kube-apiserver.sh DIR start   # from DIR/start-apiserver.sh; returns when /readyz is ok
set -euo pipefail

log() { printf '[kube-apiserver] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ $# -eq 2 ] || die "usage: $0 DIR stop|start"
DIR="$(cd "$1" && pwd)"
[ -x "$DIR/start-apiserver.sh" ] || die "$DIR/start-apiserver.sh missing: start the control plane with scripts/kube-up.sh"
pid_of() { awk '$1 == "kube-apiserver" { print $2 }' "$DIR/pids"; }
ours() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$DIR/"; }

case "$2" in
  stop)
    pid="$(pid_of)"
    if [ -n "$pid" ] && ours "$pid"; then
      kill -KILL "$pid"
      for _ in $(seq 1 100); do ours "$pid" || break; sleep 0.05; done
      ! ours "$pid" || die "kube-apiserver ($pid) is still running"
      log "stopped ($pid)"
    fi
    ;;
  start)
    "$DIR/start-apiserver.sh" &
    pid=$!
    awk '$1 != "kube-apiserver"' "$DIR/pids" >"$DIR/pids.new"
    printf 'kube-apiserver %s\n' "$pid" >>"$DIR/pids.new"
    mv "$DIR/pids.new" "$DIR/pids"
    # shellcheck disable=SC1091
    . "$DIR/env"
    for _ in $(seq 1 300); do
      if curl -fsS --max-time 2 --cacert "$KUBE_CA" -H "Authorization: Bearer $KUBE_TOKEN" "$KUBE_SERVER/readyz" 2>/dev/null | grep -qx ok; then
        log "ready again ($pid)"
        exit 0
      fi
      ours "$pid" || die "kube-apiserver exited; see $DIR/kube-apiserver.log"
      sleep 0.2
    done
    die "kube-apiserver not ready after 60 s"
    ;;
  *) die "usage: $0 DIR stop|start" ;;
esac
