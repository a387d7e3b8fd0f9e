# The production workers' node group ("Add nodes if needed"), instead of
# `eksctl scale nodegroup --cluster skillancer --name production-workers --nodes 10`. The node
# group itself is managed elsewhere, e.g. by aws_eks_node_group; this resource owns its sizes.
resource "scaling_node_group" "production_workers" {
  cluster_name    = "skillancer"
  node_group_name = "production-workers"
  min_size        = 3
  max_size        = 20

  # Left out, the cluster autoscaler owns the desired size and no plan fights it. Set, it is
  # enforced, and a change by hand shows as drift.
  desired_size = 10
}
