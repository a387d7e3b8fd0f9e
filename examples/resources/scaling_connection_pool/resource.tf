# PgBouncer's pool for a traffic event ("Connection Pool Scaling"), instead of
# `kubectl edit configmap pgbouncer-config` and `kubectl rollout restart deployment/pgbouncer`.
# Only these lines of the [pgbouncer] section change; every other line and comment stays.
resource "scaling_connection_pool" "pgbouncer" {
  namespace  = "production"
  config_map = "pgbouncer-config"
  key        = "pgbouncer.ini"

  settings = {
    default_pool_size = 50
    reserve_pool_size = 10
    max_client_conn   = 2000
  }

  # When the file changes: a rolling restart, and the apply waits until it is done.
  restart_deployment = "pgbouncer"
  wait_for_rollout   = true
}
