# A managed node group, as CLUSTER/NODE_GROUP.
terraform import scaling_node_group.production_workers skillancer/production-workers
