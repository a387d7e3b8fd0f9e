# The objects the runbook scales usually belong to an aws_* resource as well. Each owner below
# ignores exactly the attributes its scaling_* resource (scaling.tf) manages, so that neither
# undoes the other's change on every apply. Only this file needs the AWS provider: scaling.tf
# reaches the owners through the locals at the end.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
    scaling = {
      source = "skillancer/scaling"
    }
  }
}

resource "aws_db_instance" "production" {
  identifier     = "skillancer-production"
  engine         = "postgres"
  instance_class = "db.r6g.xlarge"

  allocated_storage           = 500
  username                    = "skillancer"
  manage_master_user_password = true

  lifecycle {
    # scaling_db_instance_class.production owns the class.
    ignore_changes = [instance_class]
  }
}

resource "aws_elasticache_replication_group" "redis" {
  replication_group_id       = "skillancer-redis"
  description                = "skillancer"
  engine                     = "redis"
  node_type                  = "cache.r6g.large"
  cluster_mode               = "enabled"
  num_node_groups            = 3
  replicas_per_node_group    = 1
  automatic_failover_enabled = true

  lifecycle {
    # scaling_redis_shard_config.redis owns the shape.
    ignore_changes = [num_node_groups, replicas_per_node_group, node_type]
  }
}

resource "aws_eks_node_group" "production_workers" {
  cluster_name    = "skillancer"
  node_group_name = "production-workers"
  node_role_arn   = "arn:aws:iam::123456789012:role/skillancer-nodes"
  subnet_ids      = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]

  scaling_config {
    min_size     = 3
    max_size     = 10
    desired_size = 3
  }

  lifecycle {
    # scaling_node_group.production_workers owns the sizes (and the cluster autoscaler the
    # desired size between them).
    ignore_changes = [scaling_config]
  }
}

resource "aws_cloudfront_distribution" "cdn" {
  enabled = true

  origin {
    origin_id   = "api"
    domain_name = "api.skillancer.example"

    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
  }

  default_cache_behavior {
    target_origin_id       = "api"
    viewer_protocol_policy = "redirect-to-https"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    cache_policy_id        = "658327ea-f89d-4fab-a63d-7e88639e58f6"
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }

  lifecycle {
    # scaling_origin_shield.api owns the origin's Origin Shield, written inside the origin
    # block: the whole block is ignored. No other resource may rewrite this distribution's
    # origins.
    ignore_changes = [origin]
  }
}

locals {
  db_instance_identifier = aws_db_instance.production.identifier
  replication_group_id   = aws_elasticache_replication_group.redis.id
  cluster_name           = aws_eks_node_group.production_workers.cluster_name
  node_group_name        = aws_eks_node_group.production_workers.node_group_name
  distribution_id        = aws_cloudfront_distribution.cdn.id
}
