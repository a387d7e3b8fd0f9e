# An autoscaler, as namespace/name: a HorizontalPodAutoscaler or a KEDA ScaledObject is found.
terraform import scaling_profile.api_gateway production/api-gateway

# When an HPA and a ScaledObject share the name, say which with :ScaledObject or
# :HorizontalPodAutoscaler.
terraform import scaling_profile.job_processor production/job-processor:ScaledObject
