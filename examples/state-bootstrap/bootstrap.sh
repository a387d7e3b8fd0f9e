#!/usr/bin/env bash
# Creates, once per account, what the environments' `backend "s3"` blocks name: the state
# bucket and the DynamoDB lock table (one of each for every environment; the state key tells
# environments apart). Safe to run again: what exists is left as it is.
#
#   bucket  skillancer-terraform-state   versioned (a bad apply's state can be recovered),
#                                        encrypted by default (SSE-S3), public access blocked
#   table   skillancer-terraform-locks   hash key LockID (a string), on-demand capacity: the
#                                        key Terraform's s3 backend writes its lock under
#
# Needs the AWS CLI and credentials that may create both. Against an emulator, set
# AWS_ENDPOINT_URL (the CLI sends every call there), as scripts/environment.sh does.
#
# Usage: examples/state-bootstrap/bootstrap.sh [BUCKET [TABLE]]   (region: AWS_REGION, else us-east-1)
set -euo pipefail
bucket="${1:-skillancer-terraform-state}"
table="${2:-skillancer-terraform-locks}"
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"
export AWS_REGION="$region" AWS_DEFAULT_REGION="$region" AWS_PAGER=""

if aws s3api head-bucket --bucket "$bucket" >/dev/null 2>&1; then
  echo "bucket $bucket: exists"
else
  # us-east-1 is the one region that takes no location constraint.
  if [ "$region" = "us-east-1" ]; then
    aws s3api create-bucket --bucket "$bucket" >/dev/null
  else
    aws s3api create-bucket --bucket "$bucket" --create-bucket-configuration "LocationConstraint=$region" >/dev/null
  fi
  echo "bucket $bucket: created"
fi
# Set on every run, so that a run stopped after the bucket was made is finished by the next.
# Both are safe to repeat; encryption is set only where none is, so a team's KMS key stays.
aws s3api put-bucket-versioning --bucket "$bucket" --versioning-configuration Status=Enabled
aws s3api put-public-access-block --bucket "$bucket" \
  --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
if ! aws s3api get-bucket-encryption --bucket "$bucket" >/dev/null 2>&1; then
  aws s3api put-bucket-encryption --bucket "$bucket" \
    --server-side-encryption-configuration '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'
fi
echo "bucket $bucket: versioned, encrypted, not public"

if aws dynamodb describe-table --table-name "$table" >/dev/null 2>&1; then
  echo "table $table: exists"
else
  aws dynamodb create-table --table-name "$table" --billing-mode PAY_PER_REQUEST \
    --attribute-definitions AttributeName=LockID,AttributeType=S --key-schema AttributeName=LockID,KeyType=HASH >/dev/null
  aws dynamodb wait table-exists --table-name "$table"
  echo "table $table: created (hash key LockID, a string)"
fi
