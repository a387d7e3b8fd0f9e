//! The EKS node group updates testkit/aws/extensions/eks.py adds to moto, called through
//! aws-sdk-eks as AWS documents the answers (docs/moto-facts.md).

use aws_sdk_eks::error::ProvideErrorMetadata;
use aws_sdk_eks::types::{NodegroupScalingConfig, UpdateStatus};
use scaling_testkit::{Moto, REGION};

fn sizes(min: i32, max: i32, desired: Option<i32>) -> NodegroupScalingConfig {
    NodegroupScalingConfig::builder().min_size(min).max_size(max).set_desired_size(desired).build()
}

#[test]
fn an_update_is_in_progress_then_successful_and_only_then_in_place() {
    let moto = Moto::shared();
    moto.create_node_group("life", "workers", (2, 6, 3));
    moto.eks(REGION, |c| async move {
        let update = c
            .update_nodegroup_config()
            .cluster_name("life")
            .nodegroup_name("workers")
            .scaling_config(sizes(3, 10, Some(4)))
            .send()
            .await
            .unwrap()
            .update
            .unwrap();
        assert_eq!(update.status(), Some(&UpdateStatus::InProgress));
        let id = update.id().unwrap().to_string();

        let group = c.describe_nodegroup().cluster_name("life").nodegroup_name("workers").send().await.unwrap().nodegroup.unwrap();
        assert_eq!(group.status().map(|s| s.as_str()), Some("UPDATING"));
        assert_eq!(group.scaling_config().and_then(|s| s.max_size()), Some(6), "not in place while in progress");

        // A second update meanwhile is refused.
        let busy =
            c.update_nodegroup_config().cluster_name("life").nodegroup_name("workers").scaling_config(sizes(3, 11, None)).send().await;
        assert_eq!(busy.unwrap_err().code(), Some("ResourceInUseException"));

        let mut seen = Vec::new();
        for _ in 0..10 {
            let u = c.describe_update().name("life").nodegroup_name("workers").update_id(&id).send().await.unwrap().update.unwrap();
            let status = u.status().unwrap().as_str().to_string();
            if seen.last() != Some(&status) {
                seen.push(status.clone());
            }
            if status == "Successful" {
                break;
            }
        }
        assert_eq!(seen.last().map(String::as_str), Some("Successful"), "{seen:?}");
        let group = c.describe_nodegroup().cluster_name("life").nodegroup_name("workers").send().await.unwrap().nodegroup.unwrap();
        let s = group.scaling_config().unwrap();
        assert_eq!((s.min_size(), s.max_size(), s.desired_size()), (Some(3), Some(10), Some(4)));
        assert_eq!(group.status().map(|s| s.as_str()), Some("ACTIVE"));

        let unknown = c.describe_update().name("life").nodegroup_name("workers").update_id("no-such-update").send().await;
        assert_eq!(unknown.unwrap_err().code(), Some("ResourceNotFoundException"));
    });
}

#[test]
fn scaling_configs_eks_refuses_are_invalid_parameters() {
    let moto = Moto::shared();
    moto.create_node_group("rules", "workers", (2, 6, 3));
    moto.eks(REGION, |c| async move {
        for (min, max, desired, says) in [
            (5, 4, None, "Minimum capacity 5 can't be greater than maximum capacity 4"),
            (2, 0, None, "Maximum capacity 0 can't be less than 1"),
            (2, 6, Some(7), "Desired capacity 7 can't be greater than maximum capacity 6"),
            // Left out, the desired size is the node group's (3): below a new minimum of 4.
            (4, 6, None, "Desired capacity 3 can't be less than minimum capacity 4"),
        ] {
            let refused = c
                .update_nodegroup_config()
                .cluster_name("rules")
                .nodegroup_name("workers")
                .scaling_config(sizes(min, max, desired))
                .send()
                .await;
            let e = refused.expect_err(says);
            assert_eq!(e.code(), Some("InvalidParameterException"));
            assert_eq!(e.message(), Some(says));
        }
    });
}

#[test]
fn a_failed_update_reports_its_errors_and_changes_nothing() {
    let moto = Moto::shared();
    moto.create_node_group("fail", "workers", (2, 6, 3));
    moto.fail_next("UpdateNodegroupConfig", "fail/workers", &["Failed"]);
    moto.eks(REGION, |c| async move {
        let id = c
            .update_nodegroup_config()
            .cluster_name("fail")
            .nodegroup_name("workers")
            .scaling_config(sizes(2, 20, Some(15)))
            .send()
            .await
            .unwrap()
            .update
            .unwrap()
            .id
            .unwrap();
        let mut last = None;
        for _ in 0..10 {
            let u = c.describe_update().name("fail").nodegroup_name("workers").update_id(&id).send().await.unwrap().update.unwrap();
            if u.status() != Some(&UpdateStatus::InProgress) {
                last = Some(u);
                break;
            }
        }
        let u = last.expect("the update ended");
        assert_eq!(u.status(), Some(&UpdateStatus::Failed));
        assert_eq!(u.errors()[0].error_code().map(|c| c.as_str()), Some("AsgInstanceLaunchFailures"));
        let group = c.describe_nodegroup().cluster_name("fail").nodegroup_name("workers").send().await.unwrap().nodegroup.unwrap();
        assert_eq!(group.scaling_config().and_then(|s| s.desired_size()), Some(3));
        assert_eq!(group.status().map(|s| s.as_str()), Some("DEGRADED"), "instances that cannot launch leave it unhealthy");
        let issue = &group.health().unwrap().issues()[0];
        assert_eq!(issue.code().map(|c| c.as_str()), Some("AsgInstanceLaunchFailures"));
    });
}
