#!/usr/bin/env bash
# Runs one of examples/environments/ against the local backends, with nothing to set up by
# hand: no AWS account, no cluster.
#
#   scripts/environment.sh staging|production plan|apply|drift|destroy
#   scripts/environment.sh down        stops the local backends (their objects go with them)
#
# The first use starts moto (through testkit/aws/launch.py) and a kube-apiserver with KEDA's
# CRD, and leaves them running under .environments/, so that an apply, a hand change
# (`aws --endpoint-url ...`, curl to the API server) and the drift check that finds it work on
# the same objects. Each run then makes, where missing:
#   - the state bucket and lock table (examples/state-bootstrap/bootstrap.sh), so state lives
#     in S3 with DynamoDB locks as it does in CI;
#   - what the environment expects to exist (scripts/local-objects.py): the source instance
#     skillancer-ENV, the cluster-mode group skillancer-ENV-redis (2 shards), the distribution
#     skillancer-ENV-cdn (origins api and static); and the Kubernetes namespace ENV;
# and runs Terraform in a fresh copy of examples/ (under .environments/ENV), with the provider
# from a release mirror of this build. `drift` runs examples/ci-drift-check/drift-check.sh as
# the CI jobs do, installing through SCALING_PROVIDER_MIRROR.
#
# The provider is built with the release profile, unless SCALING_PROVIDER_BINARY names a build.
# The first run builds kube-apiserver (about 7 to 11 minutes on 2 cores, then cached).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
work="$root/.environments"
usage() { echo "usage: scripts/environment.sh staging|production plan|apply|drift|destroy, or scripts/environment.sh down" >&2; exit 64; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

if [ "${1:-}" = "down" ]; then
  [ $# -eq 1 ] || usage
  if alive "$(cat "$work/moto.pid" 2>/dev/null)"; then kill "$(cat "$work/moto.pid")"; fi
  rm -f "$work/moto.pid" "$work/moto.port"
  if [ -d "$work/kube" ]; then scripts/kube-down.sh "$work/kube" >/dev/null; fi
  echo "==> local backends stopped"
  exit 0
fi
[ $# -eq 2 ] || usage
environment="$1" command="$2"
[ -d "examples/environments/$environment" ] || { echo "no environment examples/environments/$environment" >&2; usage; }
case "$command" in plan | apply | drift | destroy) ;; *) usage ;; esac
mkdir -p "$work"

echo "==> tools (pinned; the first kube-apiserver build takes about 7 to 11 minutes, then it is cached)"
scripts/install-tools.sh > "$work/install.log" 2>&1 || { cat "$work/install.log" >&2; exit 1; }
scripts/install-kube.sh >> "$work/install.log" 2>&1 || { cat "$work/install.log" >&2; exit 1; }
export PATH="$root/.tools/bin:$PATH"
binary="${SCALING_PROVIDER_BINARY:-}"
if [ -z "$binary" ]; then
  echo "==> building the provider (release; the first build compiles the AWS SDK and takes several minutes)"
  cargo build --release --locked -p terraform-provider-scaling
  binary="$root/target/release/terraform-provider-scaling"
fi
# A mirror per environment, so that two environments run at once never share one half-written.
rm -rf "${work:?}/$environment"
mkdir -p "$work/$environment"
scripts/release.sh --binary "$binary" --out "$work/$environment/dist" > /dev/null
mirror="$work/$environment/dist/mirror"

# One moto and one cluster for every environment: started under a lock, so that two runs at
# once do not both start them.
exec 9> "$work/.backends.lock"
flock 9

py="$root/.tools/venv/bin/python"
port="$(cat "$work/moto.port" 2>/dev/null || true)"
if ! alive "$(cat "$work/moto.pid" 2>/dev/null)"; then
  port="$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  # Its own session, so that it outlives this script (and a Ctrl-C of it).
  setsid "$py" "$root/testkit/aws/launch.py" -H 127.0.0.1 -p "$port" > "$work/moto.log" 2>&1 < /dev/null &
  echo $! > "$work/moto.pid"
  echo "$port" > "$work/moto.port"
  echo "==> started moto on 127.0.0.1:$port (log: $work/moto.log)"
fi
endpoint="http://127.0.0.1:$port"
kubeconfig="$(KUBE_WITH_KEDA=1 scripts/kube-up.sh "$work/kube" 2> "$work/kube-up.log")" || { cat "$work/kube-up.log" >&2; exit 1; }
flock -u 9

export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
distribution="$("$py" scripts/local-objects.py "$endpoint" --source "skillancer-$environment" \
  --redis "skillancer-$environment-redis" 2 --distribution "skillancer-$environment-cdn" "$environment.skillancer.example")"
AWS_ENDPOINT_URL="$endpoint" examples/state-bootstrap/bootstrap.sh | sed 's/^/==> /'
# shellcheck disable=SC1091
. "$work/kube/env"
answer="$(curl -sS --max-time 10 --cacert "$KUBE_CA" -H "Authorization: Bearer $KUBE_TOKEN" -o /dev/null -w '%{http_code}' \
  -X POST -H 'Content-Type: application/json' --data "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$environment\"}}" \
  "$KUBE_SERVER/api/v1/namespaces")"
case "$answer" in
  201) echo "==> namespace $environment: created" ;;
  409) echo "==> namespace $environment: exists" ;;
  *) echo "creating namespace $environment: HTTP $answer" >&2; exit 1 ;;
esac

# A fresh copy of the examples (modules are relative paths), as a checkout has them.
cp -R examples "$work/$environment/examples"
cd "$work/$environment/examples/environments/$environment"
export HOME="$work/$environment" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
export TF_VAR_rds_endpoint="$endpoint" TF_VAR_elasticache_endpoint="$endpoint" TF_VAR_cloudfront_endpoint="$endpoint"
export TF_VAR_kubeconfig="$kubeconfig" TF_VAR_distribution_id="$distribution"
export TF_CLI_ARGS_init="-backend-config=endpoint=$endpoint -backend-config=dynamodb_endpoint=$endpoint \
-backend-config=force_path_style=true -backend-config=skip_credentials_validation=true -backend-config=skip_metadata_api_check=true"
echo "==> terraform $command: $environment (state: s3://skillancer-terraform-state/scaling/$environment.tfstate on moto)"
if [ "$command" = "drift" ]; then
  unset TF_CLI_CONFIG_FILE
  SCALING_PROVIDER_MIRROR="$mirror" exec ../../ci-drift-check/drift-check.sh
fi
cat > "$work/$environment/cli.tfrc" <<CFG
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["skillancer/scaling"]
  }
  direct {
    exclude = ["skillancer/scaling"]
  }
}
CFG
export TF_CLI_CONFIG_FILE="$work/$environment/cli.tfrc"
terraform init -input=false > "$work/$environment/init.log" 2>&1 || { cat "$work/$environment/init.log" >&2; exit 1; }
case "$command" in
  plan) exec terraform plan -input=false -detailed-exitcode ;;
  apply) exec terraform apply -input=false -auto-approve ;;
  destroy) exec terraform destroy -input=false -auto-approve ;;
esac
