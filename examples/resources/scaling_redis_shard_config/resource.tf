# The existing cluster-mode Redis from 3 to 4 shards ("Add Redis Nodes (Cluster Mode)") on a
# larger node type ("Increase Redis Memory"), instead of modify-replication-group-shard-configuration
# and polling describe-replication-groups. The group itself (engine, subnets, auth) is managed
# elsewhere, e.g. by aws_elasticache_replication_group; this resource adopts it.
resource "scaling_redis_shard_config" "redis" {
  replication_group_id    = "skillancer-redis"
  node_group_count        = 4
  replicas_per_node_group = 1
  node_type               = "cache.r6g.xlarge"
  apply_immediately       = true
  on_destroy              = "restore" # destroy puts back the shape the group had when adopted

  timeouts {
    update = "60m"
  }
}
