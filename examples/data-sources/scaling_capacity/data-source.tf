# The runbook's "Current Capacity" table, live, as a gate before a traffic event: the plan
# fails, naming what is short, when anything has less than 30% headroom.
data "scaling_capacity" "before_launch" {
  min_headroom_percent = 30
  window               = "24h" # how far back CloudWatch peaks look

  autoscaler {
    namespace = "production"
    name      = "api-gateway" # an HPA, or a KEDA ScaledObject
  }

  database {
    db_instance_identifier = "skillancer-production"
    max_connections        = 2000 # db.r6g.xlarge, as its parameter group says
  }

  redis {
    replication_group_id = "skillancer-redis"
  }
}

output "lowest_headroom_percent" {
  value = data.scaling_capacity.before_launch.lowest_headroom_percent
}
