#!/usr/bin/env bash
# Builds the provider and runs examples/quickstart against a local moto server and a local
# kube-apiserver (with KEDA's CRD): creates the source database (standing in for
# skillancer-production), a 3-shard Redis (skillancer-redis) and a CloudFront distribution with
# two origins, shows the plan (a resharding
# to 4 shards among it), applies it, and shows that a second plan finds nothing to change.
# No AWS account or cluster is needed. moto runs through testkit/aws/launch.py, which adds
# the ElastiCache, RDS and CloudFront behaviour it lacks (docs/moto-facts.md).
#
# The first run builds kube-apiserver from Debian's source package: about 7 to 11 minutes on
# 2 cores, once; later runs reuse it from ~/.cache.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/install-tools.sh
echo "==> kube-apiserver (the first build takes about 7 to 11 minutes; then it is cached)"
scripts/install-kube.sh
echo "==> building the provider (release; the first build compiles the AWS SDK and takes several minutes)"
cargo build --release --locked -p terraform-provider-scaling

work="$root/.quickstart"
rm -rf "$work"
mkdir -p "$work/mirror/registry.terraform.io/skillancer/scaling/0.1.0/linux_amd64" "$work/run" "$work/home"
cp target/release/terraform-provider-scaling "$work/mirror/registry.terraform.io/skillancer/scaling/0.1.0/linux_amd64/"
cp examples/quickstart/*.tf "$work/run/"
cat > "$work/cli.tfrc" <<CFG
provider_installation {
  filesystem_mirror {
    path    = "$work/mirror"
    include = ["skillancer/scaling"]
  }
  direct {
    exclude = ["skillancer/scaling"]
  }
}
CFG

py="$root/.tools/venv/bin/python"
port="$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
echo "==> starting moto on 127.0.0.1:$port"
"$py" "$root/testkit/aws/launch.py" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; scripts/kube-down.sh "$work/kube" >/dev/null 2>&1 || true' EXIT

echo "==> starting etcd and kube-apiserver on 127.0.0.1"
kubeconfig="$(KUBE_WITH_KEDA=1 scripts/kube-up.sh "$work/kube")"

export AWS_ACCESS_KEY_ID=quickstart AWS_SECRET_ACCESS_KEY=quickstart AWS_EC2_METADATA_DISABLED=true
distribution="$("$py" scripts/local-objects.py "http://127.0.0.1:$port" --source skillancer-production \
  --redis skillancer-redis 3 --distribution skillancer-cdn skillancer.example)"

tf() {
  (cd "$work/run" && HOME="$work/home" TF_CLI_CONFIG_FILE="$work/cli.tfrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 \
    "$root/.tools/bin/terraform" "$@" -var "rds_endpoint=http://127.0.0.1:$port" \
    -var "elasticache_endpoint=http://127.0.0.1:$port" -var "cloudfront_endpoint=http://127.0.0.1:$port" \
    -var "distribution_id=$distribution" -var "kubeconfig=$kubeconfig")
}
(cd "$work/run" && HOME="$work/home" TF_CLI_CONFIG_FILE="$work/cli.tfrc" CHECKPOINT_DISABLE=1 \
  "$root/.tools/bin/terraform" init -input=false >/dev/null)
echo "==> terraform plan"
tf plan -input=false
echo "==> terraform apply"
tf apply -input=false -auto-approve
echo "==> terraform plan -detailed-exitcode (a second plan: expect no changes)"
set +e
tf plan -input=false -detailed-exitcode
code=$?
set -e
if [ "$code" -ne 0 ]; then
  echo "quickstart: the second plan was not clean (exit $code)" >&2
  exit 1
fi
echo "==> quickstart done: replica, autoscalers, Redis shards and Origin Shield in place, second plan clean. Working directory: $work/run"
