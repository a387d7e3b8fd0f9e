# Origin Shield in front of the API origin of the CDN's existing distribution ("Add CloudFront
# Origin Shield"), instead of editing the whole distribution config and update-distribution
# --if-match. Only this origin's setting is written; the rest of the distribution is kept.
resource "scaling_origin_shield" "api" {
  distribution_id = "E2QWRUHAPOMQZL"
  origin_id       = "api"       # the origin's Id within the distribution, not its domain name
  shield_region   = "us-east-1" # the Origin Shield Region nearest the origin
  on_destroy      = "restore"   # as found on adoption; "disable": off; "retain": leave it

  timeouts {
    create = "90m" # waits until every edge location has the change
  }
}
