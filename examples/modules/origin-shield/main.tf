# CloudFront Origin Shield on chosen origins of an existing distribution: the runbook's "Add
# CloudFront Origin Shield", without hand-editing the distribution config.

terraform {
  required_version = ">= 1.0.3"
  required_providers {
    scaling = {
      source  = "skillancer/scaling"
      version = "~> 0.1"
    }
  }
}

variable "distribution_id" {
  description = "The existing distribution's id."
  type        = string
}

variable "origins" {
  description = "Origin id => the Origin Shield Region nearest that origin."
  type        = map(string)
}

variable "wait_for_deployment" {
  description = "Wait until every edge location has the change (often minutes)."
  type        = bool
  default     = true
}

resource "scaling_origin_shield" "origin" {
  for_each = var.origins

  distribution_id     = var.distribution_id
  origin_id           = each.key
  shield_region       = each.value
  wait_for_deployment = var.wait_for_deployment
}

output "distribution_status" {
  value = one(distinct([for s in scaling_origin_shield.origin : s.distribution_status]))
}
