#!/usr/bin/env bash
# Installs KEDA's ScaledObject CRD (testdata/, no operator) into the cluster that
# scripts/kube-up.sh started in DIR, and returns once keda.sh/v1alpha1 is served.
#
#   scripts/kube-keda.sh DIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf '[kube-keda] %s\n' "$*" >&2; }
fail() { log "ERROR: $*"; exit 1; }
[ $# -eq 1 ] || fail "usage: $0 DIR"
# shellcheck disable=SC1091
. "$1/env"

kcurl() { curl -fsS --max-time 10 --cacert "$KUBE_CA" -H "Authorization: Bearer $KUBE_TOKEN" "$@"; }
kcurl -X POST -H 'Content-Type: application/yaml' --data-binary @"$ROOT/testdata/keda-scaledobject-crd.yaml" \
  "$KUBE_SERVER/apis/apiextensions.k8s.io/v1/customresourcedefinitions" >/dev/null || fail "installing KEDA's CRD failed"
for _ in $(seq 1 100); do
  kcurl "$KUBE_SERVER/apis/keda.sh/v1alpha1" >/dev/null 2>&1 && break
  sleep 0.1
done
kcurl "$KUBE_SERVER/apis/keda.sh/v1alpha1" >/dev/null || fail "keda.sh/v1alpha1 is not served after installing the CRD"
log "installed KEDA's ScaledObject CRD (keda.sh/v1alpha1)"
