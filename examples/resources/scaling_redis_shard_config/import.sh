# A replication group, by its id. The shape it has at import is what on_destroy = "restore"
# puts back.
terraform import scaling_redis_shard_config.redis skillancer-redis
