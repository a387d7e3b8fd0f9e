# Quickstart: one read replica of the production database, as the runbook's
# "Horizontal Scaling (Read Replicas)" does by hand with
#   aws rds create-db-instance-read-replica --db-instance-identifier skillancer-replica-2 ...
#
# scripts/quickstart.sh runs this against a local moto server (no AWS account needed).
# Against real AWS, leave rds_endpoint unset and use your usual AWS credentials.

terraform {
  required_version = ">= 1.0.3"
  required_providers {
    scaling = {
      source  = "skillancer/scaling"
      version = "~> 0.1"
    }
  }
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "rds_endpoint" {
  description = "RDS endpoint override, e.g. a local emulator. Null means AWS itself."
  type        = string
  default     = null
}

provider "scaling" {
  region = var.region
  endpoints {
    rds = var.rds_endpoint
  }
}

resource "scaling_read_replica" "replica_2" {
  identifier                    = "skillancer-replica-2"
  source_db_instance_identifier = "skillancer-production"
  instance_class                = "db.r6g.xlarge"

  tags = {
    service = "skillancer"
    role    = "read-replica"
  }

  timeouts {
    create = "40m"
  }
}

output "replica_endpoint" {
  value = "${scaling_read_replica.replica_2.address}:${scaling_read_replica.replica_2.port}"
}
