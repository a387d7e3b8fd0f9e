# Staging: one small replica. Same module as production; only the variables differ.

terraform {
  required_version = ">= 1.0.3"
  required_providers {
    scaling = {
      source  = "skillancer/scaling"
      version = "~> 0.1"
    }
  }
}

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

  environment                   = "staging"
  source_db_instance_identifier = "skillancer-staging"
  replica_count                 = 1
  instance_class                = "db.r6g.large"
}

output "replica_endpoints" {
  value = module.read_replicas.endpoints
}
