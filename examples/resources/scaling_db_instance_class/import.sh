# An instance, by its identifier. Its class at import is what on_destroy = "restore" puts back.
terraform import scaling_db_instance_class.production skillancer-production
