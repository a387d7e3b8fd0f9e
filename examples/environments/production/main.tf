# Production: two replicas sized for normal traffic (runbook: db.r6g.xlarge, "Low traffic";

terraform {
  required_version = ">= 1.0.3"
  required_providers {
    scaling = {
      source  = "skillancer/scaling"
      version = "~> 0.1"
    }
  }
}
# move to db.r6g.2xlarge before known peaks). Class changes wait for the maintenance window.

variable "rds_endpoint" {
  description = "RDS endpoint override (an emulator in tests); null for AWS."
  type        = string
  default     = null
}

provider "scaling" {
  region = "us-east-1"
  endpoints {
    rds = var.rds_endpoint
  }
}

module "read_replicas" {
  source = "../../modules/read-replicas"

  environment                   = "production"
  source_db_instance_identifier = "skillancer-production"
  replica_count                 = 2
  instance_class                = "db.r6g.xlarge"
  apply_immediately             = false
  tags                          = { cost-center = "platform" }
}

output "replica_endpoints" {
  value = module.read_replicas.endpoints
}
