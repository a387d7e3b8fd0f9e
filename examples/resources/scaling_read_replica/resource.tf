# A second read replica of the production database ("Horizontal Scaling (Read Replicas)"),
# instead of `aws rds create-db-instance-read-replica` and `aws rds wait db-instance-available`.
resource "scaling_read_replica" "replica_2" {
  identifier                    = "skillancer-replica-2"
  source_db_instance_identifier = "skillancer-production" # or its ARN, for a cross-region replica
  instance_class                = "db.r6g.xlarge"         # resized in place; the replica restarts

  # Left out, these keep what the replica inherits from the source.
  storage_type           = "gp3"
  vpc_security_group_ids = ["sg-0123456789abcdef0"]

  multi_az            = false # never inherited from the source
  deletion_protection = false
  apply_immediately   = true # false defers class, Multi-AZ and storage changes to the maintenance window

  tags = {
    service = "skillancer"
    role    = "read-replica"
  }

  timeouts {
    create = "40m"
  }
}
