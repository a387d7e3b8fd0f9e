#!/usr/bin/env python3
"""Makes on the local AWS emulator what the examples expect to exist already, as the runbook's
team made it by hand: the source database of the read replicas, a cluster-mode Redis group and
a CloudFront distribution. What exists is left as it is, so a second run changes nothing.
Prints the distribution's id (it is the emulator's to choose); progress goes to stderr.

Usage: local-objects.py ENDPOINT --source ID --redis ID SHARDS --distribution NAME DOMAIN
  NAME is the distribution's comment and caller reference; its origins are api and static,
  at api.DOMAIN and static.DOMAIN. Runs with the boto3 of .tools/venv.
"""
import argparse
import sys
import time

import boto3


def say(text):
    print(f"==> {text}", file=sys.stderr)


def wait_for(endpoint):
    rds = boto3.client("rds", endpoint_url=endpoint, region_name="us-east-1")
    for _ in range(200):
        try:
            rds.describe_db_instances()
            return
        except Exception:
            time.sleep(0.05)
    sys.exit(f"no AWS emulator answers at {endpoint}")


def source_instance(endpoint, identifier):
    rds = boto3.client("rds", endpoint_url=endpoint, region_name="us-east-1")
    try:
        rds.describe_db_instances(DBInstanceIdentifier=identifier)
        say(f"source instance {identifier}: exists")
    except rds.exceptions.DBInstanceNotFoundFault:
        rds.create_db_instance(DBInstanceIdentifier=identifier, Engine="postgres", DBInstanceClass="db.r6g.2xlarge",
                               AllocatedStorage=200)
        say(f"source instance {identifier} (db.r6g.2xlarge): created")


def redis_group(endpoint, group, shards):
    cache = boto3.client("elasticache", endpoint_url=endpoint, region_name="us-east-1")
    try:
        cache.describe_replication_groups(ReplicationGroupId=group)
        say(f"replication group {group}: exists")
        return
    except cache.exceptions.ReplicationGroupNotFoundFault:
        pass
    cache.create_replication_group(ReplicationGroupId=group, ReplicationGroupDescription=group, Engine="redis",
                                   CacheNodeType="cache.r6g.large", ClusterMode="enabled", NumNodeGroups=shards,
                                   ReplicasPerNodeGroup=1)
    while cache.describe_replication_groups(ReplicationGroupId=group)["ReplicationGroups"][0]["Status"] != "available":
        time.sleep(0.05)
    say(f"replication group {group} ({shards} shards of cache.r6g.large): created")


def distribution(endpoint, name, domain):
    cdn = boto3.client("cloudfront", endpoint_url=endpoint, region_name="us-east-1")
    for item in cdn.list_distributions()["DistributionList"].get("Items", []):
        if item["Comment"] == name:
            say(f"distribution {item['Id']} ({name}): exists")
            return item["Id"]
    origins = [{"Id": o, "DomainName": f"{o}.{domain}",
                "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}
               for o in ("api", "static")]
    made = cdn.create_distribution(DistributionConfig={
        "CallerReference": name, "Comment": name, "Enabled": True,
        "Origins": {"Quantity": len(origins), "Items": origins},
        "DefaultCacheBehavior": {"TargetOriginId": "api", "ViewerProtocolPolicy": "redirect-to-https"}})
    say(f"distribution {made['Distribution']['Id']} ({name}, origins api and static): created")
    return made["Distribution"]["Id"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint")
    parser.add_argument("--source", required=True)
    parser.add_argument("--redis", nargs=2, metavar=("ID", "SHARDS"), required=True)
    parser.add_argument("--distribution", nargs=2, metavar=("NAME", "DOMAIN"), required=True)
    args = parser.parse_args()
    wait_for(args.endpoint)
    source_instance(args.endpoint, args.source)
    redis_group(args.endpoint, args.redis[0], int(args.redis[1]))
    print(distribution(args.endpoint, *args.distribution))


if __name__ == "__main__":
    main()
