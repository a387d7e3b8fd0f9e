#!/usr/bin/env bash
# Builds what a Terraform registry or an internal mirror serves, into dist/ (or --out DIR):
#
#   terraform-provider-scaling_VERSION_linux_amd64.zip    the binary, as terraform-provider-scaling_vVERSION
#   terraform-provider-scaling_VERSION_manifest.json      registry manifest (plugin protocol 6.0)
#   terraform-provider-scaling_VERSION_SHA256SUMS         sha256 of the zip and the manifest
#   mirror/registry.terraform.io/skillancer/scaling/      the zip in the "packed" layout a
#       filesystem_mirror reads, with index.json and VERSION.json beside it, which is what a
#       network_mirror serves (put mirror/ behind HTTPS as is)
#
# The binary is linked against glibc (the only Rust target this build machine has; the
# provider's TLS comes from aws-lc, built with the system's C compiler), dynamically, so it
# runs on Linux with glibc 2.34 or newer (Debian 12, Ubuntu 22.04, RHEL 9, Amazon Linux 2023):
# the script prints the newest glibc symbol version the binary needs. Not on Alpine (musl).
# A registry also wants SHA256SUMS signed with the publisher's GPG key
# (`gpg --detach-sign terraform-provider-scaling_VERSION_SHA256SUMS`); that key is yours.
#
# Usage: scripts/release.sh [--binary PATH] [--out DIR]
#   --binary PATH  package this build instead of building the release profile (the tests
#                  package the binary they built)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

binary=""
out="$root/dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: scripts/release.sh [--binary PATH] [--out DIR]" >&2; exit 64 ;;
  esac
done

if [ -z "$binary" ]; then
  echo "==> building the provider (release profile)"
  cargo build --release --locked -p terraform-provider-scaling
  binary="$root/target/release/terraform-provider-scaling"
fi
[ -x "$binary" ] || { echo "no provider binary at $binary" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"
python3 - "$root/Cargo.toml" "$binary" "$out" <<'PY'
import base64, hashlib, json, os, re, subprocess, sys, tomllib, zipfile

cargo_toml, binary, out = sys.argv[1:4]
with open(cargo_toml, "rb") as f:
    version = tomllib.load(f)["workspace"]["package"]["version"]
name, os_arch = "terraform-provider-scaling", "linux_amd64"
zip_name = f"{name}_{version}_{os_arch}.zip"
inner = f"{name}_v{version}"

with open(binary, "rb") as f:
    program = f.read()
# Fixed timestamps, so that the same binary always makes the same zip (and the same zh: hash).
entry = zipfile.ZipInfo(inner, date_time=(1980, 1, 1, 0, 0, 0))
entry.external_attr = 0o100755 << 16
entry.compress_type = zipfile.ZIP_DEFLATED
with zipfile.ZipFile(os.path.join(out, zip_name), "w") as z:
    z.writestr(entry, program)

manifest_name = f"{name}_{version}_manifest.json"
with open(os.path.join(out, manifest_name), "w") as f:
    json.dump({"version": 1, "metadata": {"protocol_versions": ["6.0"]}}, f, indent=2)
    f.write("\n")

def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()

sums = "".join(f"{sha256(os.path.join(out, n))}  {n}\n" for n in sorted([zip_name, manifest_name]))
with open(os.path.join(out, f"{name}_{version}_SHA256SUMS"), "w") as f:
    f.write(sums)

# Terraform's package hashes: h1 is Go's dirhash over the zip's contents (sha256 of lines
# "HEX  NAME\n", sorted by name), zh the sha256 of the zip itself.
summary = f"{hashlib.sha256(program).hexdigest()}  {inner}\n".encode()
h1 = "h1:" + base64.b64encode(hashlib.sha256(summary).digest()).decode()
zh = "zh:" + sha256(os.path.join(out, zip_name))

mirror = os.path.join(out, "mirror", "registry.terraform.io", "skillancer", "scaling")
os.makedirs(mirror)
with open(os.path.join(out, zip_name), "rb") as src, open(os.path.join(mirror, zip_name), "wb") as dst:
    dst.write(src.read())
with open(os.path.join(mirror, "index.json"), "w") as f:
    json.dump({"versions": {version: {}}}, f, indent=2)
    f.write("\n")
with open(os.path.join(mirror, f"{version}.json"), "w") as f:
    json.dump({"archives": {os_arch: {"url": zip_name, "hashes": [h1, zh]}}}, f, indent=2)
    f.write("\n")

try:
    symbols = subprocess.run(["objdump", "-T", binary], capture_output=True, text=True).stdout
except FileNotFoundError:
    symbols = ""
glibc = sorted({tuple(map(int, v.split("."))) for v in re.findall(r"GLIBC_([0-9.]+)", symbols)})
needs = ".".join(map(str, glibc[-1])) if glibc else "unknown (no objdump)"
print(f"{name} {version}: {zip_name} ({h1}), needs glibc {needs}")
PY
echo "==> $out"
