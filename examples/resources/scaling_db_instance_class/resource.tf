# The production database from db.r6g.xlarge to db.r6g.2xlarge ("Vertical Scaling (Instance
# Size)"), instead of `aws rds modify-db-instance --db-instance-class ...` and
# `aws rds wait db-instance-available`. The instance itself is managed elsewhere, e.g. by
# aws_db_instance; this resource owns only its class.
resource "scaling_db_instance_class" "production" {
  db_instance_identifier = "skillancer-production"
  instance_class         = "db.r6g.2xlarge"

  # Off by default: the change lands in the instance's maintenance window, and the plan names
  # it. On, it happens during apply (a Single-AZ instance is down for 5 to 10 minutes).
  apply_immediately = false
  on_destroy        = "restore" # destroy puts back the class the instance had when adopted
}
