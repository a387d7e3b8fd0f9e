#!/usr/bin/env bash
# Starts a throwaway Kubernetes control plane (etcd + kube-apiserver v1.20.2, no nodes, no
# controller-manager) on 127.0.0.1 for the scaling_profile tests, and writes DIR/kubeconfig.
#
#   scripts/install-kube.sh          # once: builds/caches kube-apiserver (~11 min the first time)
#   scripts/kube-up.sh DIR           # prints DIR/kubeconfig when /readyz is ok (~6 s)
#   scripts/kube-down.sh DIR         # stops both (add --purge to delete DIR too)
#
# DIR gets: kubeconfig; env (KUBE_SERVER, KUBE_TOKEN, KUBE_CA for curl: source it); pids
# ("name pid" lines); pki/ (CA, serving cert for 127.0.0.1/localhost, service-account key pair);
# tokens.csv; etcd/ data; etcd.log and kube-apiserver.log.
# KUBE_WITH_KEDA=1 also installs KEDA's ScaledObject CRD from testdata/.
# Auth: static bearer token for user "admin" in group system:masters; authorization RBAC.
# Everything listens on 127.0.0.1 only, on free ports; etcd speaks plain http on loopback.
# Binaries: .tools/bin/{kube-apiserver,etcd}, or $KUBE_APISERVER_BIN / $ETCD_BIN.
# Note: 1.20 serves autoscaling v1, v2beta1 and v2beta2 (not v2).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
APISERVER="${KUBE_APISERVER_BIN:-$ROOT/.tools/bin/kube-apiserver}"
ETCD="${ETCD_BIN:-$ROOT/.tools/bin/etcd}"
READY_TIMEOUT="${KUBE_READY_TIMEOUT:-90}"

log() { printf '[kube-up] %s\n' "$*" >&2; }
die() { printf '[kube-up] ERROR: %s\n' "$*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 DIR"
[ -x "$APISERVER" ] || die "$APISERVER not found: run scripts/install-kube.sh first"
[ -x "$ETCD" ] || die "$ETCD not found: run scripts/install-kube.sh first"
for c in openssl curl python3 setsid; do command -v "$c" >/dev/null || die "$c not found"; done
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { if [ -f "$DIR/pids" ]; then awk -v n="$1" '$1 == n { print $2 }' "$DIR/pids"; fi; }

# Already up? Then just report it.
if [ -f "$DIR/pids" ] && [ -f "$DIR/kubeconfig" ] && alive "$(pid_of kube-apiserver)" && alive "$(pid_of etcd)"; then
  # shellcheck disable=SC1091
  . "$DIR/env"
  if curl -fsS --max-time 5 --cacert "$KUBE_CA" -H "Authorization: Bearer $KUBE_TOKEN" "$KUBE_SERVER/readyz" >/dev/null 2>&1; then
    log "already running"
    echo "$DIR/kubeconfig"
    exit 0
  fi
  die "processes in $DIR/pids are alive but not ready; run scripts/kube-down.sh $DIR"
fi
[ -f "$DIR/pids" ] && { log "stale $DIR/pids; stopping leftovers"; "$SCRIPT_DIR/kube-down.sh" "$DIR" >/dev/null 2>&1 || true; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# --- certificates and keys ------------------------------------------------------------
PKI="$DIR/pki"
mkdir -p "$PKI"
if [ ! -f "$PKI/apiserver.crt" ]; then
  log "generating CA, serving certificate and service-account keys in $PKI"
  (
    cd "$PKI"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
      -subj "/CN=scaling-test-ca" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
      -subj "/CN=kube-apiserver" 2>/dev/null
    cat >apiserver.ext <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1
EOF
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -out apiserver.crt -days 3650 -extfile apiserver.ext 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    chmod 0644 ca.crt apiserver.crt sa.pub
  )
fi
if [ ! -f "$DIR/tokens.csv" ]; then
  # token,user,uid,"group1,group2"
  ( umask 077; printf '%s,admin,admin,"system:masters"\n' "$(openssl rand -hex 32)" >"$DIR/tokens.csv" )
fi
TOKEN="$(cut -d, -f1 "$DIR/tokens.csv" | head -n1)"

# --- etcd ---------------------------------------------------------------------------------
ETCD_PORT="$(free_port)"
ETCD_PEER_PORT="$(free_port)"
while [ "$ETCD_PEER_PORT" = "$ETCD_PORT" ]; do ETCD_PEER_PORT="$(free_port)"; done
API_PORT="$(free_port)"
while [ "$API_PORT" = "$ETCD_PORT" ] || [ "$API_PORT" = "$ETCD_PEER_PORT" ]; do API_PORT="$(free_port)"; done
mkdir -p "$DIR/etcd"
chmod 0700 "$DIR/etcd"

t0="$(date +%s%N)"
log "starting etcd on 127.0.0.1:$ETCD_PORT"
setsid "$ETCD" --name scaling-test --data-dir "$DIR/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "scaling-test=http://127.0.0.1:$ETCD_PEER_PORT" \
  --log-level warn --logger zap \
  </dev/null >"$DIR/etcd.log" 2>&1 &
ETCD_PID=$!
printf 'etcd %s\n' "$ETCD_PID" >"$DIR/pids"

fail() {
  log "$1"
  for f in etcd.log kube-apiserver.log; do
    [ -f "$DIR/$f" ] && { log "--- tail $DIR/$f"; tail -n 25 "$DIR/$f" >&2; }
  done
  "$SCRIPT_DIR/kube-down.sh" "$DIR" >/dev/null 2>&1 || true
  exit 1
}

for _ in $(seq 1 100); do
  curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"' && break
  alive "$ETCD_PID" || fail "etcd exited"
  sleep 0.1
done
curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"' || fail "etcd not healthy"

# --- kube-apiserver ---------------------------------------------------------------------
log "starting kube-apiserver on https://127.0.0.1:$API_PORT"
# Its command is kept in DIR, so scripts/kube-apiserver.sh can start it again on the
# same port and etcd (a control plane restarting under a running apply).
cat >"$DIR/start-apiserver.sh" <<EOF
#!/usr/bin/env bash
exec setsid "$APISERVER" \\
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \\
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" --insecure-port 0 \\
  --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \\
  --client-ca-file "$PKI/ca.crt" --cert-dir "$PKI" \\
  --token-auth-file "$DIR/tokens.csv" \\
  --authorization-mode RBAC \\
  --service-account-issuer https://kubernetes.default.svc.cluster.local \\
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \\
  --service-cluster-ip-range 10.0.0.0/24 \\
  --endpoint-reconciler-type none \\
  --profiling=false \\
  </dev/null >>"$DIR/kube-apiserver.log" 2>&1
EOF
chmod +x "$DIR/start-apiserver.sh"
"$DIR/start-apiserver.sh" &
API_PID=$!
printf 'kube-apiserver %s\n' "$API_PID" >>"$DIR/pids"

SERVER="https://127.0.0.1:$API_PORT"
cat >"$DIR/env" <<EOF
KUBE_SERVER=$SERVER
KUBE_TOKEN=$TOKEN
KUBE_CA=$PKI/ca.crt
KUBECONFIG=$DIR/kubeconfig
EOF
chmod 0600 "$DIR/env"
CA_DATA="$(base64 -w0 <"$PKI/ca.crt")"
( umask 077; cat >"$DIR/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: scaling-test
  cluster:
    server: $SERVER
    certificate-authority-data: $CA_DATA
users:
- name: admin
  user:
    token: $TOKEN
contexts:
- name: scaling-test
  context:
    cluster: scaling-test
    user: admin
    namespace: default
current-context: scaling-test
EOF
)

deadline=$((SECONDS + READY_TIMEOUT))
until curl -fsS --max-time 2 --cacert "$PKI/ca.crt" -H "Authorization: Bearer $TOKEN" "$SERVER/readyz" 2>/dev/null | grep -qx ok; do
  alive "$API_PID" || fail "kube-apiserver exited"
  alive "$ETCD_PID" || fail "etcd exited"
  [ "$SECONDS" -lt "$deadline" ] || fail "kube-apiserver not ready after ${READY_TIMEOUT}s"
  sleep 0.2
done
t1="$(date +%s%N)"
log "ready in $(( (t1 - t0) / 1000000 )) ms: $SERVER (etcd pid $ETCD_PID, kube-apiserver pid $API_PID)"

# KEDA's ScaledObject CRD (no operator: the provider only manages the objects).
if [ "${KUBE_WITH_KEDA:-0}" = 1 ]; then
  "$SCRIPT_DIR/kube-keda.sh" "$DIR" || fail "installing KEDA's CRD failed"
fi
echo "$DIR/kubeconfig"
