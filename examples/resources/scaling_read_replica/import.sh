# A read replica, by its DB instance identifier.
terraform import scaling_read_replica.replica_2 skillancer-replica-2

# A replica promoted earlier, now a standalone instance, takes the suffix ":promoted".
# (An instance that never was a replica is refused: destroying the resource would delete it.)
# terraform import scaling_read_replica.replica_2 skillancer-replica-2:promoted
