#!/usr/bin/env bash
# Drift check for CI: fails the job when real infrastructure no longer matches the
# configuration (someone ran `aws rds modify-db-instance` or `kubectl scale` by hand).
#
#   exit 0: no drift; 2: drift (an argument changed outside Terraform, whether or not the
#   configuration sets it; statuses and other computed values do not count, see
#   drift-report.py) or changes not yet applied; 1: error
#
# Writes drift-report.md (which resources, which attributes, recorded -> now; or, when the plan
# fails, its errors, each once with the resources it came from) and appends it to the CI job's
# summary: $GITHUB_STEP_SUMMARY on GitHub Actions; on GitLab CI the job keeps it as an
# artifact. Runs in the environment's directory, with read-only credentials: the plan takes no
# state lock (-lock=false), which would need write access to the lock table.
#
# Installing the provider: SCALING_PROVIDER_MIRROR names where scripts/release.sh's mirror is,
# a directory (filesystem_mirror) or an https:// URL serving it (network_mirror). The script
# writes the CLI configuration for it unless TF_CLI_CONFIG_FILE already names one.
#
# Usage: ../../ci-drift-check/drift-check.sh   (extra init arguments: TF_CLI_ARGS_init)
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
environment="${DRIFT_ENVIRONMENT:-$(basename "$PWD")}"

# Yesterday's report must never pass for today's, whatever stops this run.
rm -f drift-report.md drift.tfplan drift-plan.jsonl drift-plan.json drift-schema.json drift-init.log
report() {
  python3 "$here/drift-report.py" "$@" > drift-report.md
  local status=$?
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    cat drift-report.md >> "$GITHUB_STEP_SUMMARY"
  fi
  cat drift-report.md
  return $status
}

if [ -z "${TF_CLI_CONFIG_FILE:-}" ]; then
  if [ -z "${SCALING_PROVIDER_MIRROR:-}" ]; then
    echo "SCALING_PROVIDER_MIRROR is not set: unless ~/.terraformrc says where skillancer/scaling comes from, terraform" \
      "init looks for it in the public registry, where it is not published. Set it to your mirror of scripts/release.sh's" \
      "dist/mirror (a directory or an https:// URL)." >&2
  else
    case "$SCALING_PROVIDER_MIRROR" in
      *'"'* | *'\'* | *'${'* | *'%{'*) echo "SCALING_PROVIDER_MIRROR: quotes, backslashes and \${ cannot be written into the CLI configuration" >&2; exit 1 ;;
      https://*) mirror="network_mirror {
    url     = \"${SCALING_PROVIDER_MIRROR%/}/\"
    include = [\"skillancer/scaling\"]
  }" ;;
      *://*) echo "SCALING_PROVIDER_MIRROR: a network mirror must be served over https://" >&2; exit 1 ;;
      *) [ -d "$SCALING_PROVIDER_MIRROR" ] || { echo "SCALING_PROVIDER_MIRROR: no directory $SCALING_PROVIDER_MIRROR" >&2; exit 1; }
        mirror="filesystem_mirror {
    path    = \"$(cd "$SCALING_PROVIDER_MIRROR" && pwd)\"
    include = [\"skillancer/scaling\"]
  }" ;;
    esac
    TF_CLI_CONFIG_FILE="$(mktemp "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/scaling-drift-check.XXXXXX")"
    export TF_CLI_CONFIG_FILE
    trap 'rm -f "$TF_CLI_CONFIG_FILE"' EXIT
    cat > "$TF_CLI_CONFIG_FILE" <<CFG
provider_installation {
  $mirror
  direct {
    exclude = ["skillancer/scaling"]
  }
}
CFG
  fi
fi

if ! terraform init -input=false -no-color > drift-init.log 2>&1; then
  cat drift-init.log >&2
  echo "terraform init failed" >&2
  exit 1
fi
terraform plan -json -input=false -lock=false -detailed-exitcode -out=drift.tfplan > drift-plan.jsonl
status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 2 ]; then
  report --errors "$environment" < drift-plan.jsonl
  echo "plan failed" >&2
  exit 1
fi

# The plan as Terraform words it, for the job log; then the report (with the plan's warnings,
# which `plan -json` kept out of the log), whose status also counts drift the plan does not
# act on.
terraform show -no-color drift.tfplan
terraform show -json drift.tfplan > drift-plan.json || { echo "terraform show failed" >&2; exit 1; }
terraform providers schema -json > drift-schema.json || { echo "terraform providers schema failed" >&2; exit 1; }
report "$environment" --schema drift-schema.json --diagnostics drift-plan.jsonl < drift-plan.json
reported=$?
case $reported in
  0 | 2) ;;
  *) echo "could not write the drift report" >&2; exit 1 ;;
esac
exit $(( status > reported ? status : reported ))
