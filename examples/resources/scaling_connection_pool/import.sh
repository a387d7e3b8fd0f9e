# A ConfigMap as NAMESPACE/CONFIG_MAP, with the Deployment it restarts: the integer settings of
# its [pgbouncer] section become owned.
terraform import scaling_connection_pool.pgbouncer production/pgbouncer-config/pgbouncer
