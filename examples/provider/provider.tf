terraform {
  required_version = ">= 1.0.3"
  required_providers {
    scaling = {
      source  = "skillancer/scaling"
      version = "~> 0.1"
    }
  }
}

# AWS credentials come from the standard chain (environment, shared files, SSO, process,
# instance metadata), never from configuration. The cluster is the one the kubeconfig names;
# without a kubernetes block: KUBECONFIG, then ~/.kube/config, then the in-cluster account.
provider "scaling" {
  region  = "us-east-1"
  profile = "skillancer-production" # used even when AWS_ACCESS_KEY_ID is set

  # Per call: time to connect, time to answer once sent, retries on throttling and
  # transient errors after the first attempt (the defaults).
  connect_timeout = "10s"
  read_timeout    = "30s"
  max_retries     = 4

  kubernetes {
    config_path    = "~/.kube/config"
    config_context = "skillancer-production"
  }
}

# A second configuration for local emulators, like the ones scripts/quickstart.sh starts: moto
# for RDS, ElastiCache, CloudFront, EKS and CloudWatch, and a throwaway kube-apiserver. Resources choose it with
# `provider = scaling.local`.
provider "scaling" {
  alias  = "local"
  region = "us-east-1"

  endpoints {
    rds         = "http://127.0.0.1:5000"
    elasticache = "http://127.0.0.1:5000"
    cloudfront  = "http://127.0.0.1:5000"
    eks         = "http://127.0.0.1:5000"
    cloudwatch  = "http://127.0.0.1:5000"
  }

  kubernetes {
    config_path = "/tmp/scaling-kube/kubeconfig"
  }
}
