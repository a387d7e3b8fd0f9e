#!/usr/bin/env bash
# Installs a real Kubernetes control plane for the scaling_profile tests (HPA / KEDA ScaledObject):
#   .tools/bin/kube-apiserver  Kubernetes v1.20.2, built from Debian bookworm's `kubernetes` source
#                              package (full upstream tree with vendor/) with Debian's Go 1.19
#   .tools/bin/etcd            symlink to Debian's etcd-server (3.4)
# scripts/kube-up.sh / kube-down.sh start and stop them on 127.0.0.1.
#
# Recipe: apt-get source (pinned version, sha256-checked .dsc and orig tarball) -> unpack the
# upstream tree -> replace vendor/github.com/modern-go/reflect2 1.0.1 (crashes under Go >= 1.18 at
# the first custom-resource write) with Debian's 1.0.2 sources, keeping go.mod/vendor/modules.txt
# consistent -> `make WHAT=cmd/kube-apiserver` offline (GOPROXY=off, -mod=vendor).
# Debian's own patches only touch kubectl/cli-runtime printers and are not applied.
#
# The binary is cached in ${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-scaling/
#   kube-apiserver-1.20.2-<recipe hash>/kube-apiserver (+ kube-apiserver.sha256, checked on reuse)
# The recipe hash covers the pins, the Go toolchain and reflect2 package versions, and the text of
# the prepare/build functions below, so changing any of them rebuilds.
# First build: about 11 minutes on 2 cores (runs under nice). Cached: a few seconds.
# Idempotent; concurrent runs are serialised with flock.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
BIN="$ROOT/.tools/bin"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-scaling"

# --- pins -------------------------------------------------------------------
KUBE_VERSION=1.20.2
KUBE_GIT_COMMIT_PIN=faecb196815e248d3ecfb03c680a4507229c2a56   # upstream v1.20.2 (from hack/lib/version.sh)
SRC_PKG=kubernetes
SRC_VERSION='1.20.5+really1.20.2-1.1+deb12u1'
DSC_FILE="kubernetes_${SRC_VERSION}.dsc"
DSC_SHA256=19fa1da5aefcef673894ac9511986bd98a14410cf8eea0b626613c30df435257
ORIG_FILE='kubernetes_1.20.5+really1.20.2.orig.tar.gz'
ORIG_SHA256=b83c0780efb182d928dc63d46488a847f161f04e40a94b96bf5247dd671ecdfc
DEBIAN_FILE="kubernetes_${SRC_VERSION}.debian.tar.xz"
DEBIAN_SHA256=9b6e5fd41769d2b5badf2e73b274e3bcd90f85e13d06a1a4a845ccce018127d8
ORIG_TOPDIR=kubernetes-1.20.2
REFLECT2_SRC=/usr/share/gocode/src/github.com/modern-go/reflect2
REFLECT2_VERSION=v1.0.2
# Debian packages: build (golang-go, make, rsync, reflect2 sources) and run (etcd-server, openssl, curl).
APT_PKGS=(golang-go make rsync golang-github-modern-go-reflect2-dev etcd-server openssl curl ca-certificates)

# --- helpers ----------------------------------------------------------------
log() { printf '[install-kube] %s\n' "$*"; }
die() { printf '[install-kube] ERROR: %s\n' "$*" >&2; exit 1; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
sha_ok() { [ -f "$1" ] && [ "$(sha256_of "$1")" = "$2" ]; }

[ "$(uname -s)/$(uname -m)" = "Linux/x86_64" ] || die "only linux x86_64 is supported"
command -v apt-get >/dev/null || die "apt-get not found (this script expects Debian bookworm)"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "not root and no sudo: cannot apt-get install"
  SUDO=(sudo)
fi

mkdir -p "$BIN" "$CACHE"
if command -v flock >/dev/null; then exec 9>"$CACHE/.kube-lock"; flock 9; fi

# --- 1. Debian packages ---------------------------------------------------------
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v go >/dev/null || die "go not on PATH after installing golang-go"
# The etcd the package installed: not `command -v`, which finds our own link to it once
# .tools/bin is on PATH (as install-tools.sh suggests) and would link it to itself.
ETCD="$(dpkg -L etcd-server 2>/dev/null | grep -m1 '/bin/etcd$' || true)"
[ -n "$ETCD" ] || ETCD=/usr/bin/etcd
[ -x "$ETCD" ] || die "etcd not found after installing etcd-server"

# --- 2. recipe hash -> cache slot ---------------------------------------------------
# The build steps. Their text is part of the cache key: edit them and the next run rebuilds.
prepare_tree() { # $1 = unpacked upstream tree
  local tree=$1
  # reflect2 1.0.1 -> Debian's 1.0.2 (Go 1.18+ compatible).
  rm -rf "$tree/vendor/github.com/modern-go/reflect2"
  mkdir -p "$tree/vendor/github.com/modern-go/reflect2"
  cp -a "$REFLECT2_SRC/." "$tree/vendor/github.com/modern-go/reflect2/"
  # go.mod pins it via a replace; vendor/modules.txt must agree with go.mod under -mod=vendor.
  sed -i -E "s#^(\tgithub.com/modern-go/reflect2 => github.com/modern-go/reflect2) v1\.0\.1\$#\1 $REFLECT2_VERSION#" "$tree/go.mod"
  sed -i -E "s#^(\# github.com/modern-go/reflect2) v1\.0\.1 => (github.com/modern-go/reflect2) v1\.0\.1\$#\1 $REFLECT2_VERSION => \2 $REFLECT2_VERSION#; s#^(\# github.com/modern-go/reflect2 => github.com/modern-go/reflect2) v1\.0\.1\$#\1 $REFLECT2_VERSION#" \
    "$tree/vendor/modules.txt"
  grep -q "github.com/modern-go/reflect2 => github.com/modern-go/reflect2 $REFLECT2_VERSION" "$tree/go.mod" \
    || die "could not retarget reflect2 in go.mod"
  [ "$(grep -c "reflect2.* $REFLECT2_VERSION" "$tree/vendor/modules.txt")" = 2 ] \
    || die "could not retarget reflect2 in vendor/modules.txt"
}
build_tree() { # $1 = prepared tree; leaves _output/bin/kube-apiserver
  local tree=$1
  (
    cd "$tree"
    export GOPROXY=off GOFLAGS=-mod=vendor GO111MODULE=on GOTOOLCHAIN=local CGO_ENABLED=0
    export KUBE_GIT_VERSION="v$KUBE_VERSION" KUBE_GIT_MAJOR=1 KUBE_GIT_MINOR=20 \
      KUBE_GIT_COMMIT="$KUBE_GIT_COMMIT_PIN" KUBE_GIT_TREE_STATE=clean
    export HOME="$tree/_home"   # keep go's and make's stray files out of the real HOME
    mkdir -p "$HOME"
    nice -n 19 make WHAT=cmd/kube-apiserver
  )
}

GO_VERSION="$(GOFLAGS='' go version)"
REFLECT2_DEB="$(dpkg-query -W -f='${Version}' golang-github-modern-go-reflect2-dev)"
RECIPE="$(
  printf '%s\n' "$SRC_VERSION" "$DSC_SHA256" "$ORIG_SHA256" "$KUBE_GIT_COMMIT_PIN" \
    "$GO_VERSION" "reflect2-deb=$REFLECT2_DEB" "$REFLECT2_VERSION"
  declare -f prepare_tree build_tree
)"
RECIPE_HASH="$(printf '%s' "$RECIPE" | sha256sum | cut -c1-12)"
SLOT="$CACHE/kube-apiserver-$KUBE_VERSION-$RECIPE_HASH"
CACHED="$SLOT/kube-apiserver"
CACHED_SHA="$SLOT/kube-apiserver.sha256"

cached_ok() {
  [ -x "$CACHED" ] && [ -f "$CACHED_SHA" ] && [ "$(sha256_of "$CACHED")" = "$(cut -d' ' -f1 "$CACHED_SHA")" ]
}

link_tools() {
  ln -sfn "$CACHED" "$BIN/kube-apiserver"
  ln -sfn "$ETCD" "$BIN/etcd"
  local v
  v="$("$BIN/kube-apiserver" --version 2>&1)" || die "kube-apiserver --version failed: $v"
  [ "$v" = "Kubernetes v$KUBE_VERSION" ] || die "unexpected kube-apiserver version: $v"
  log "kube-apiserver: $BIN/kube-apiserver -> $CACHED ($v)"
  log "etcd:           $BIN/etcd -> $ETCD ($("$ETCD" --version | head -n1))"
}

if cached_ok; then
  log "using cached kube-apiserver (recipe $RECIPE_HASH, sha256 verified)"
  link_tools
  exit 0
fi
[ -e "$CACHED" ] && log "cached kube-apiserver in $SLOT fails its sha256 check; rebuilding"

# --- 3. fetch the source package (pinned, checksummed) ------------------------------
log "building kube-apiserver v$KUBE_VERSION from Debian source $SRC_PKG $SRC_VERSION"
log "NOTE: the first build takes about 11 minutes on 2 cores (later runs use the cache)"
SRCDIR="$CACHE/debian-src"
mkdir -p "$SRCDIR"
have_src() { sha_ok "$SRCDIR/$DSC_FILE" "$DSC_SHA256" && sha_ok "$SRCDIR/$ORIG_FILE" "$ORIG_SHA256" && sha_ok "$SRCDIR/$DEBIAN_FILE" "$DEBIAN_SHA256"; }
if ! have_src; then
  # A private deb-src list and index: /etc/apt is left alone.
  APTDIR="$CACHE/apt"
  mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial"
  cat >"$APTDIR/sources.list" <<'EOF'
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-updates main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main
EOF
  APT_OPTS=(-o "Dir::Etc::SourceList=$APTDIR/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$APTDIR/lists" -o "Dir::Cache=$APTDIR/cache"
    -o APT::Sandbox::User=root)
  log "apt-get update (private deb-src index in $APTDIR)"
  apt-get "${APT_OPTS[@]}" update -qq || die "apt-get update for the deb-src index failed"
  log "apt-get source --download-only $SRC_PKG=$SRC_VERSION (34 MB)"
  ( cd "$SRCDIR" && apt-get "${APT_OPTS[@]}" source --download-only -qq "$SRC_PKG=$SRC_VERSION" ) \
    || die "could not fetch $SRC_PKG=$SRC_VERSION: if Debian replaced it, update the pins in $0"
  have_src || die "sha256 mismatch for the downloaded source package files in $SRCDIR"
fi
log "source package verified (.dsc $DSC_SHA256, orig $ORIG_SHA256)"

# --- 4. unpack, patch, build ------------------------------------------------------------
WORK="$(mktemp -d "$CACHE/kube-build.XXXXXX")"
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
log "unpacking into $WORK"
tar -xzf "$SRCDIR/$ORIG_FILE" -C "$WORK"
TREE="$WORK/$ORIG_TOPDIR"
[ -f "$TREE/cmd/kube-apiserver/apiserver.go" ] || die "unexpected source layout"
log "replacing vendored reflect2 v1.0.1 with Debian's $REFLECT2_VERSION ($REFLECT2_DEB)"
prepare_tree "$TREE"
log "make WHAT=cmd/kube-apiserver ($GO_VERSION; log: $WORK/build.log)"
start=$SECONDS
if ! build_tree "$TREE" >"$WORK/build.log" 2>&1; then
  tail -n 40 "$WORK/build.log" >&2
  cp "$WORK/build.log" "$CACHE/kube-build-failed.log"
  die "build failed (full log: $CACHE/kube-build-failed.log)"
fi
OUT="$TREE/_output/bin/kube-apiserver"
[ -x "$OUT" ] || OUT="$TREE/_output/local/bin/linux/amd64/kube-apiserver"
[ -x "$OUT" ] || die "build finished but kube-apiserver binary not found"
log "built in $((SECONDS - start)) s"

mkdir -p "$SLOT"
cp "$OUT" "$SLOT/kube-apiserver.tmp"
chmod 0755 "$SLOT/kube-apiserver.tmp"
mv -f "$SLOT/kube-apiserver.tmp" "$CACHED"
( cd "$SLOT" && sha256sum kube-apiserver >kube-apiserver.sha256.tmp && mv -f kube-apiserver.sha256.tmp kube-apiserver.sha256 )
printf '%s\n' "$RECIPE" >"$SLOT/recipe.txt"
cached_ok || die "cached binary fails its own sha256 check"
link_tools
