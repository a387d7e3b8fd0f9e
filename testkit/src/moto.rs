//! A moto server (the AWS emulator) on a free 127.0.0.1 port, and helpers to act on it
//! out of band, as a person with the AWS CLI would.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::{free_port, tool, ACCESS_KEY, REGION, SECRET_KEY};

/// A moto server. It stops when this value is dropped or when the process that started it
/// exits in any way: statics are never dropped, so a watchdog shell holds a pipe from us and
/// kills moto when the pipe closes.
pub struct Moto {
    pub port: u16,
    watchdog: Child,
    lifeline: Option<ChildStdin>,
    log: tempfile::TempPath,
    /// Faults the next calls must answer, and commands such as a maintenance window
    /// (testkit/aws/extensions/__init__.py).
    control: tempfile::TempPath,
}

impl Moto {
    /// One server per process (per test binary), shared by its tests.
    pub fn shared() -> &'static Moto {
        static MOTO: OnceLock<Moto> = OnceLock::new();
        MOTO.get_or_init(Moto::start)
    }

    pub fn start() -> Moto {
        Moto::start_with(&[])
    }

    /// A server of its own with launcher settings such as `SCALING_MOTO_STEPS` (how many
    /// describes a transitional status lasts; default 2) or `SCALING_MOTO_RATE` (calls a second
    /// per service before Throttling; default unlimited).
    pub fn start_with(settings: &[(&str, &str)]) -> Moto {
        let port = free_port();
        let log = tempfile::NamedTempFile::new().expect("moto log").into_temp_path();
        let control = tempfile::NamedTempFile::new().expect("moto control").into_temp_path();
        std::fs::write(&control, "{}").expect("control file");
        // moto, extended where it lacks what AWS documents (testkit/aws/launch.py).
        let mut watchdog = Command::new("sh")
            .args(["-c", "\"$0\" \"$3\" -H 127.0.0.1 -p \"$1\" 2>\"$2\" >/dev/null & moto=$!; read -r _; kill $moto; wait $moto"])
            .arg(python())
            .arg(port.to_string())
            .arg(&*log)
            .arg(crate::repo_root().join("testkit/aws/launch.py"))
            .env("SCALING_MOTO_CONTROL", &*control)
            .envs(settings.iter().copied())
            .stdin(Stdio::piped())
            .spawn()
            .expect("start moto_server");
        let lifeline = watchdog.stdin.take();
        let moto = Moto { port, watchdog, lifeline, log, control };
        let started = Instant::now();
        while http(port, "POST", "/moto-api/reset").is_none() {
            assert!(started.elapsed() < Duration::from_secs(60), "moto did not start; see {}", moto.log.display());
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    /// AWS API requests moto has served so far (from its request log).
    pub fn api_requests(&self) -> usize {
        std::fs::read_to_string(&self.log).map(|l| l.lines().filter(|l| l.contains("\"POST / HTTP")).count()).unwrap_or(0)
    }

    /// Makes the next calls of `action` on `target` (a resource id) answer the given AWS error
    /// codes, one call each (`Throttling`, `InvalidReplicationGroupState`), as a busy or
    /// throttled account would; for CloudFront, `ConcurrentUpdate` lands another writer's
    /// change right after the call is answered.
    pub fn fail_next(&self, action: &str, target: &str, codes: &[&str]) {
        self.control(|c| c[format!("{action} {target}")] = serde_json::json!(codes));
    }

    /// Opens the maintenance window of RDS instance `id`: what was deferred
    /// (ApplyImmediately=false) is applied before the next describe.
    pub fn maintenance_window(&self, id: &str) {
        self.command("@rds-maintenance", id);
    }

    /// Opens the maintenance window of ElastiCache replication group `id`: what its members hold
    /// as pending (ModifyReplicationGroup without ApplyImmediately) is applied before the next
    /// describe of the group.
    pub fn cache_maintenance_window(&self, id: &str) {
        self.command("@elasticache-maintenance", id);
    }

    /// Every status RDS instance `id` has left to pass through passes before the next
    /// describe, as if the time it takes had elapsed.
    pub fn settle(&self, id: &str) {
        self.command("@rds-settle", id);
    }

    /// Queues a command for the launcher, taken once (extensions/__init__.py `take_commands`).
    fn command(&self, kind: &str, id: &str) {
        self.control(|c| {
            let ids = c[kind].as_array().cloned().unwrap_or_default();
            c[kind] = serde_json::json!(ids.into_iter().chain([serde_json::json!(id)]).collect::<Vec<_>>());
        });
    }

    /// Edits the control file as the launcher does (extensions/__init__.py `_take`): under an
    /// exclusive lock on CONTROL.lock, written whole and renamed into place, so moto's threads
    /// never read half a file and neither side undoes the other's edit.
    fn control(&self, edit: impl FnOnce(&mut serde_json::Value)) {
        let path = self.control.to_path_buf();
        let with_suffix = |suffix: &str| {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            std::path::PathBuf::from(p)
        };
        let lock = std::fs::OpenOptions::new().create(true).append(true).open(with_suffix(".lock")).expect("control lock file");
        lock.lock().expect("lock the launcher's control file");
        let mut control: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_default()).unwrap_or_else(|_| serde_json::json!({}));
        edit(&mut control);
        let staged = with_suffix(".staged");
        std::fs::write(&staged, control.to_string()).expect("write the launcher's control file");
        std::fs::rename(&staged, &path).expect("replace the launcher's control file");
    }

    /// The `service` actions this moto has served, in order, as (action, replication group or
    /// cluster id), from the launcher's request log.
    pub fn calls(&self, service: &str) -> Vec<(String, String)> {
        let prefix = format!("scaling-backend {service} ");
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .filter_map(|rest| rest.split_once(' '))
            .map(|(action, id)| (action.to_string(), id.to_string()))
            .collect()
    }

    /// The bodies of `service`'s `action` calls on `target`, in order, as the launcher logs
    /// them (CloudFront's GetDistributionConfig answers and UpdateDistribution requests).
    pub fn bodies(&self, service: &str, action: &str, target: &str) -> Vec<String> {
        use base64::Engine;
        let prefix = format!("scaling-backend-body {service} {action} {target} ");
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .map(|b| String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b).expect("base64 body")).expect("UTF-8 body"))
            .collect()
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs `f` with an RDS client for `region` on this moto.
    pub fn rds<T, F, Fut>(&self, region: &str, f: F) -> T
    where
        F: FnOnce(aws_sdk_rds::Client) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        block_on(f(aws_sdk_rds::Client::new(&self.sdk_config(region))))
    }

    /// Runs `f` with an ElastiCache client for `region` on this moto.
    pub fn elasticache<T, F, Fut>(&self, region: &str, f: F) -> T
    where
        F: FnOnce(aws_sdk_elasticache::Client) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        block_on(f(aws_sdk_elasticache::Client::new(&self.sdk_config(region))))
    }

    /// Runs `f` with a CloudFront client on this moto (global: signed for us-east-1).
    pub fn cloudfront<T, F, Fut>(&self, f: F) -> T
    where
        F: FnOnce(aws_sdk_cloudfront::Client) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        block_on(f(aws_sdk_cloudfront::Client::new(&self.sdk_config("us-east-1"))))
    }

    /// Runs `f` with an EKS client for `region` on this moto.
    pub fn eks<T, F, Fut>(&self, region: &str, f: F) -> T
    where
        F: FnOnce(aws_sdk_eks::Client) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        block_on(f(aws_sdk_eks::Client::new(&self.sdk_config(region))))
    }

    /// An EKS managed node group made elsewhere (as aws_eks_node_group would), with `sizes`
    /// (min, max, desired), in cluster `cluster` (made too, if it is not there yet).
    pub fn create_node_group(&self, cluster: &str, name: &str, (min, max, desired): (i32, i32, i32)) {
        let (cluster, name) = (cluster.to_string(), name.to_string());
        self.eks(REGION, |c| async move {
            let vpc = aws_sdk_eks::types::VpcConfigRequest::builder().subnet_ids("subnet-0123456789abcdef0").build();
            let role = "arn:aws:iam::123456789012:role/eks";
            let made = c.create_cluster().name(&cluster).role_arn(role).resources_vpc_config(vpc).send().await;
            if let Err(e) = made {
                let e = e.into_service_error();
                assert!(e.is_resource_in_use_exception(), "create cluster {cluster}: {e:?}");
            }
            let sizes = aws_sdk_eks::types::NodegroupScalingConfig::builder().min_size(min).max_size(max).desired_size(desired).build();
            c.create_nodegroup()
                .cluster_name(&cluster)
                .nodegroup_name(&name)
                .node_role("arn:aws:iam::123456789012:role/eks-nodes")
                .subnets("subnet-0123456789abcdef0")
                .scaling_config(sizes)
                .send()
                .await
                .unwrap_or_else(|e| panic!("create node group {cluster}/{name}: {e:?}"));
        });
    }

    /// (min, max, desired) of a node group, as DescribeNodegroup reports them.
    pub fn node_group_sizes(&self, cluster: &str, name: &str) -> (i32, i32, i32) {
        let (cluster, name) = (cluster.to_string(), name.to_string());
        self.eks(REGION, |c| async move {
            let group = c.describe_nodegroup().cluster_name(&cluster).nodegroup_name(&name).send().await.expect("describe node group");
            let s = group.nodegroup.and_then(|n| n.scaling_config).expect("scaling config");
            (s.min_size.unwrap_or(-1), s.max_size.unwrap_or(-1), s.desired_size.unwrap_or(-1))
        })
    }

    /// Lets a node group's update in progress finish before the next describe, as if the
    /// minutes it takes had passed.
    pub fn settle_node_group(&self, cluster: &str, name: &str) {
        self.command("@eks-settle", &format!("{cluster}/{name}"));
    }

    /// A replication group made elsewhere (as aws_elasticache_replication_group would) in
    /// REGION, settled: `shards` node groups with `replicas` each in cluster mode, else one node
    /// group of `replicas` + 1 clusters.
    pub fn create_replication_group(&self, id: &str, cluster_mode: bool, shards: i32, replicas: i32) {
        let id = id.to_string();
        self.elasticache(REGION, |c| async move {
            let mut call = c
                .create_replication_group()
                .replication_group_id(&id)
                .replication_group_description("the runbook's redis")
                .engine("redis")
                .cache_node_type("cache.r6g.large");
            call = if cluster_mode {
                call.cluster_mode(aws_sdk_elasticache::types::ClusterMode::Enabled)
                    .num_node_groups(shards)
                    .replicas_per_node_group(replicas)
            } else {
                call.num_cache_clusters(replicas + 1)
            };
            call.send().await.expect("create group");
            for _ in 0..20 {
                let out = c.describe_replication_groups().replication_group_id(&id).send().await.expect("describe group");
                if out.replication_groups()[0].status() == Some("available") {
                    return;
                }
            }
            panic!("{id} never settled");
        });
    }

    /// What every client of this moto shares: its endpoint, `region`, the tests' credentials.
    pub fn sdk_config(&self, region: &str) -> aws_types::SdkConfig {
        use aws_sdk_rds::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
        aws_types::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "tests")))
            .endpoint_url(self.endpoint())
            .build()
    }

    /// A distribution made elsewhere (as aws_cloudfront_distribution would), with custom
    /// origins `(id, domain name)`, the first the default target; returns its id. It is
    /// `InProgress` for a few reads, as a new distribution is.
    pub fn create_distribution(&self, caller_reference: &str, origins: &[(&str, &str)]) -> String {
        use aws_sdk_cloudfront::types::{
            CustomOriginConfig, DefaultCacheBehavior, DistributionConfig, Origin, OriginProtocolPolicy, Origins, ViewerProtocolPolicy,
        };
        let items: Vec<Origin> = origins
            .iter()
            .map(|(id, domain)| {
                let custom = CustomOriginConfig::builder()
                    .http_port(80)
                    .https_port(443)
                    .origin_protocol_policy(OriginProtocolPolicy::HttpsOnly)
                    .build()
                    .expect("custom origin");
                Origin::builder().id(*id).domain_name(*domain).custom_origin_config(custom).build().expect("origin")
            })
            .collect();
        let config = DistributionConfig::builder()
            .caller_reference(caller_reference)
            .comment("the runbook's CDN")
            .enabled(true)
            .origins(Origins::builder().quantity(items.len() as i32).set_items(Some(items)).build().expect("origins"))
            .default_cache_behavior(
                DefaultCacheBehavior::builder()
                    .target_origin_id(origins[0].0)
                    .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                    .build()
                    .expect("default cache behavior"),
            )
            .build()
            .expect("distribution config");
        self.cloudfront(|c| async move {
            let out = c.create_distribution().distribution_config(config).send().await.expect("create distribution");
            out.distribution.expect("distribution").id().to_string()
        })
    }

    /// The distribution's config and its ETag, as GetDistributionConfig answers.
    pub fn distribution_config(&self, id: &str) -> (aws_sdk_cloudfront::types::DistributionConfig, String) {
        let id = id.to_string();
        self.cloudfront(|c| async move {
            let out = c.get_distribution_config().id(&id).send().await.expect("get distribution config");
            (out.distribution_config.expect("config"), out.e_tag.expect("etag"))
        })
    }

    /// The instance's description, or None when moto has no such instance.
    pub fn instance(&self, region: &str, id: &str) -> Option<aws_sdk_rds::types::DbInstance> {
        let id = id.to_string();
        self.rds(region, |c| async move {
            match c.describe_db_instances().db_instance_identifier(&id).send().await {
                Ok(out) => out.db_instances.unwrap_or_default().into_iter().next(),
                Err(e) if e.as_service_error().is_some_and(|s| s.is_db_instance_not_found_fault()) => None,
                Err(e) => panic!("describe {id}: {e:?}"),
            }
        })
    }

    /// A source instance for replicas, as the runbook's production database; returns its ARN.
    /// Creating one that exists already is fine: tests sharing a moto may both want it.
    pub fn create_source(&self, region: &str, id: &str) -> String {
        self.create_source_with_storage(region, id, 100, None)
    }

    /// A source of `gib` GiB on `storage_type` (moto's gp2 when None), e.g. gp3 from 400 GiB,
    /// where RDS takes gp3 IOPS and throughput.
    pub fn create_source_with_storage(&self, region: &str, id: &str, gib: i32, storage_type: Option<&str>) -> String {
        let (id, storage_type) = (id.to_string(), storage_type.map(str::to_string));
        self.rds(region, |c| async move {
            let created = c
                .create_db_instance()
                .db_instance_identifier(&id)
                .engine("postgres")
                .db_instance_class("db.r6g.2xlarge")
                .allocated_storage(gib)
                .set_storage_type(storage_type)
                .send()
                .await;
            match created {
                Ok(out) => out.db_instance.and_then(|i| i.db_instance_arn).expect("source ARN"),
                Err(e) if e.as_service_error().is_some_and(|s| s.is_db_instance_already_exists_fault()) => c
                    .describe_db_instances()
                    .db_instance_identifier(&id)
                    .send()
                    .await
                    .ok()
                    .and_then(|o| o.db_instances?.into_iter().next()?.db_instance_arn)
                    .expect("existing source ARN"),
                Err(e) => panic!("create source instance {id}: {e:?}"),
            }
        })
    }
}

impl Moto {
    /// Runs a Python snippet with boto3 (from moto's own environment) against this moto, for
    /// fixtures in services the tests have no Rust SDK for (EC2 networking). The snippet gets
    /// `client(service)` and prints what the test needs; its trimmed stdout is returned.
    pub fn boto3(&self, region: &str, snippet: &str) -> String {
        let prelude = format!(
            "import boto3\ndef client(name):\n    return boto3.client(name, region_name='{region}', endpoint_url='{}', \
             aws_access_key_id='{ACCESS_KEY}', aws_secret_access_key='{SECRET_KEY}')\n",
            self.endpoint()
        );
        let out = Command::new(python()).arg("-c").arg(format!("{prelude}{snippet}")).output().expect("run python");
        assert!(out.status.success(), "boto3 fixture failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The default security group of the region's default VPC.
    pub fn default_security_group(&self, region: &str) -> String {
        self.boto3(
            region,
            "vpc = client('ec2').describe_vpcs(Filters=[{'Name': 'isDefault', 'Values': ['true']}])['Vpcs'][0]['VpcId']\n\
             groups = client('ec2').describe_security_groups(Filters=[{'Name': 'vpc-id', 'Values': [vpc]}, {'Name': 'group-name', 'Values': ['default']}])\n\
             print(groups['SecurityGroups'][0]['GroupId'])",
        )
    }

    /// A DB subnet group over the subnets of the region's default VPC.
    pub fn create_subnet_group(&self, region: &str, name: &str) {
        self.boto3(
            region,
            &format!(
                "vpc = client('ec2').describe_vpcs(Filters=[{{'Name': 'isDefault', 'Values': ['true']}}])['Vpcs'][0]['VpcId']\n\
                 subnets = [s['SubnetId'] for s in client('ec2').describe_subnets(Filters=[{{'Name': 'vpc-id', 'Values': [vpc]}}])['Subnets']]\n\
                 rds = client('rds')\n\
                 if not [g for g in rds.describe_db_subnet_groups()['DBSubnetGroups'] if g['DBSubnetGroupName'] == '{name}']:\n    \
                 rds.create_db_subnet_group(DBSubnetGroupName='{name}', DBSubnetGroupDescription='tests', SubnetIds=subnets)"
            ),
        );
    }

    /// A DB parameter group of `family` (e.g. `postgres16`); one that exists already is fine.
    pub fn create_parameter_group(&self, region: &str, name: &str, family: &str) {
        let (name, family) = (name.to_string(), family.to_string());
        self.rds(region, |c| async move {
            let made = c
                .create_db_parameter_group()
                .db_parameter_group_name(&name)
                .db_parameter_group_family(family)
                .description("tests")
                .send()
                .await;
            if let Err(e) = made {
                assert!(
                    e.as_service_error().is_some_and(|s| s.is_db_parameter_group_already_exists_fault()),
                    "parameter group {name}: {e:?}"
                );
            }
        });
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        drop(self.lifeline.take());
        let _ = self.watchdog.wait();
    }
}

/// Runs a future to completion on a runtime of its own, as a synchronous test needs.
fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(future)
}

/// The Python of moto's own environment (installed by scripts/install-tools.sh), which also
/// has PyYAML.
pub fn python() -> std::path::PathBuf {
    tool("moto_server").parent().expect("tools dir").join("../venv/bin/python")
}

/// A minimal HTTP/1.0 request; Some(status line) when the server answered 200.
pub fn http(port: u16, method: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.lines().next().filter(|l| l.contains(" 200")).map(str::to_string)
}
