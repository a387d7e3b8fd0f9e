# The scaling half: what the runbook changes on the objects owners.tf declares. Made in the
# same apply, each object is missing when this is planned the first time: the plan warns, and
# the apply adopts it once its owner has created it.

resource "scaling_db_instance_class" "production" {
  db_instance_identifier = local.db_instance_identifier
  instance_class         = "db.r6g.2xlarge"
  on_destroy             = "restore"
}

resource "scaling_redis_shard_config" "redis" {
  replication_group_id = local.replication_group_id
  node_group_count     = 4
  node_type            = "cache.r6g.xlarge"
}

resource "scaling_node_group" "production_workers" {
  cluster_name    = local.cluster_name
  node_group_name = local.node_group_name
  min_size        = 3
  max_size        = 20
}

resource "scaling_origin_shield" "api" {
  distribution_id = local.distribution_id
  origin_id       = "api"
  shield_region   = "us-east-1"
}
