# An origin's Origin Shield setting, as DISTRIBUTION_ID/ORIGIN_ID.
terraform import scaling_origin_shield.api E2QWRUHAPOMQZL/api
