#!/usr/bin/env bash
# Drift check for CI: fails the job when real infrastructure no longer matches the
# configuration (someone ran `aws rds modify-db-instance` or `kubectl scale` by hand).
#
#   terraform plan -detailed-exitcode  exits 0: no drift, 1: error, 2: drift
#
# Usage (in the environment's directory, with read-only credentials):
#   ../../ci-drift-check/drift-check.sh
set -uo pipefail

terraform init -input=false -no-color >/dev/null || exit 1
terraform plan -input=false -no-color -lock=false -detailed-exitcode -out=drift.tfplan
case $? in
  0) echo "no drift"; exit 0 ;;
  2) echo "DRIFT: the plan above lists what changed outside Terraform" >&2
     terraform show -no-color drift.tfplan > drift-report.txt
     exit 2 ;;
  *) echo "plan failed" >&2; exit 1 ;;
esac
