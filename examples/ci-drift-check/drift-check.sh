#!/usr/bin/env bash
# Drift check for CI: fails the job when real infrastructure no longer matches the
# configuration (someone ran `aws rds modify-db-instance` or `kubectl scale` by hand).
#
#   exit 0: no drift, 2: drift (or changes not yet applied), 1: error
#
# Writes drift-report.md (which resources, which attributes, recorded -> now) and appends it to
# the CI job's summary: $GITHUB_STEP_SUMMARY on GitHub Actions; on GitLab CI the job keeps it
# as an artifact. Runs in the environment's directory, with read-only credentials: the plan
# takes no state lock (-lock=false), which would need write access to the lock table.
#
# Usage: ../../ci-drift-check/drift-check.sh   (extra init arguments: TF_CLI_ARGS_init)
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
environment="${DRIFT_ENVIRONMENT:-$(basename "$PWD")}"

terraform init -input=false -no-color >/dev/null || { echo "terraform init failed" >&2; exit 1; }
terraform plan -input=false -no-color -lock=false -detailed-exitcode -out=drift.tfplan
status=$?
case $status in
  0 | 2) ;;
  *) echo "plan failed" >&2; exit 1 ;;
esac

terraform show -json drift.tfplan | python3 "$here/drift-report.py" "$environment" > drift-report.md || {
  echo "could not write the drift report" >&2
  exit 1
}
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  cat drift-report.md >> "$GITHUB_STEP_SUMMARY"
fi
cat drift-report.md
exit $status
