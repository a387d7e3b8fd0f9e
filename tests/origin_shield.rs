//! `scaling_origin_shield` end to end: the real terraform binary, the provider binary, and moto
//! extended with CloudFront's versions and deployment (testkit/aws/extensions/cloudfront.py).

use aws_sdk_cloudfront::types::{DistributionConfig, OriginShield};
use scaling_testkit::{Mirror, Moto, Workspace};

fn workspace(moto: &'static Moto) -> Workspace {
    Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), Some(moto))
}

/// The runbook's CDN: three origins, the API the default target.
fn distribution(moto: &Moto, reference: &str) -> String {
    moto.create_distribution(reference, &[("api", "api.example.com"), ("static", "static.example.com"), ("media", "media.example.com")])
}

fn config(distribution: &str, origin: &str, body: &str) -> String {
    format!(
        "resource \"scaling_origin_shield\" \"{origin}\" {{\n  distribution_id = \"{distribution}\"\n  origin_id       = \"{origin}\"\n{body}}}\n"
    )
}

fn shield_of(config: &DistributionConfig, origin: &str) -> Option<OriginShield> {
    config.origins()?.items().iter().find(|o| o.id() == origin)?.origin_shield().cloned()
}

/// `after` with origin `origin`'s Origin Shield put back as `before` had it: what must equal
/// `before` when nothing else changed.
fn except_shield(after: &DistributionConfig, before: &DistributionConfig, origin: &str) -> DistributionConfig {
    let mut out = after.clone();
    if let Some(origins) = out.origins.as_mut() {
        for o in origins.items.iter_mut().filter(|o| o.id == origin) {
            o.origin_shield = shield_of(before, origin);
        }
    }
    out
}

/// The CloudFront calls the provider made for `distribution`, in order.
fn calls(moto: &Moto, distribution: &str) -> Vec<String> {
    moto.calls("cloudfront").into_iter().filter(|(_, d)| d == distribution).map(|(a, _)| a).collect()
}

#[test]
fn shield_on_one_origin_leaves_the_rest_then_drift_and_destroy_disables() {
    let moto = Moto::shared();
    let id = distribution(moto, "three-origins");
    let (before, _) = moto.distribution_config(&id);
    let ws = workspace(moto);
    ws.write(&config(&id, "api", "  shield_region = \"us-east-2\"\n"));
    ws.init();
    ws.apply();

    // What was sent back is the document CloudFront gave, byte for byte, but for the one
    // element of the one origin (the API origin is the first).
    let given = moto.bodies("cloudfront", "GetDistributionConfig", &id).pop().expect("a config read");
    let sent = moto.bodies("cloudfront", "UpdateDistribution", &id);
    let at = given.find("<OriginShield>").expect("moto lists OriginShield on every origin, as AWS does");
    let end = at + given[at..].find("</OriginShield>").unwrap() + "</OriginShield>".len();
    let element = "<OriginShield><Enabled>true</Enabled><OriginShieldRegion>us-east-2</OriginShieldRegion></OriginShield>";
    assert_eq!(sent, [format!("{}{element}{}", &given[..at], &given[end..])]);

    let (after, _) = moto.distribution_config(&id);
    let shield = shield_of(&after, "api").expect("api has Origin Shield");
    assert!(shield.enabled());
    assert_eq!(shield.origin_shield_region(), Some("us-east-2"));
    assert_eq!(except_shield(&after, &before, "api"), before, "every other field of the config, and the other origins, as they were");
    let state = ws.ok(&["state", "show", "-no-color", "scaling_origin_shield.api"]).flat();
    assert!(state.contains(r#"distribution_status = "Deployed""#), "waited for the deployment: {state}");
    assert!(state.contains(r#"origin_domain_name = "api.example.com""#), "{state}");
    assert!(state.contains(&format!(r#"id = "{id}/api""#)), "{state}");
    assert_eq!(ws.plan().code, 0, "a clean second plan");

    // Out of band: someone moves the shield to another region by hand.
    let (mut edited, etag) = moto.distribution_config(&id);
    for o in edited.origins.as_mut().unwrap().items.iter_mut().filter(|o| o.id == "api") {
        o.origin_shield = Some(OriginShield::builder().enabled(true).origin_shield_region("eu-west-1").build().unwrap());
    }
    let update_id = id.clone();
    moto.cloudfront(|c| async move {
        c.update_distribution().id(&update_id).if_match(etag).distribution_config(edited).send().await.unwrap();
    });
    let drift = ws.plan();
    assert_eq!(drift.code, 2, "{}", drift.all());
    assert!(drift.flat().contains(r#"~ shield_region = "eu-west-1" -> "us-east-2""#), "{}", drift.all());
    ws.apply();
    assert_eq!(shield_of(&moto.distribution_config(&id).0, "api").unwrap().origin_shield_region(), Some("us-east-2"));

    // Destroy (on_destroy = "restore", the default): off as found, region kept, nothing else touched.
    let (applied, _) = moto.distribution_config(&id);
    ws.destroy();
    let (destroyed, _) = moto.distribution_config(&id);
    let shield = shield_of(&destroyed, "api").unwrap();
    assert!(!shield.enabled(), "turned off");
    assert_eq!(shield.origin_shield_region(), Some("us-east-2"));
    assert_eq!(except_shield(&destroyed, &applied, "api"), applied);
}

#[test]
fn a_concurrent_change_between_read_and_write_is_kept() {
    let moto = Moto::shared();
    let id = distribution(moto, "concurrent-writer");
    let ws = workspace(moto);
    ws.write(&config(&id, "static", "  shield_region = \"eu-west-1\"\n"));
    ws.init();
    ws.apply();

    // Another team's change lands right after the provider's next read.
    ws.write(&config(&id, "static", "  shield_region = \"eu-central-1\"\n"));
    moto.fail_next("GetDistributionConfig", &id, &["ConcurrentUpdate"]);
    let before = calls(moto, &id).len();
    ws.apply();
    let made = calls(moto, &id);
    // Refreshes and the deployment wait (GetDistribution) left out.
    let writes: Vec<&str> = made[before..].iter().map(String::as_str).filter(|a| *a != "GetDistribution").collect();
    assert_eq!(
        writes,
        ["GetDistributionConfig", "UpdateDistribution", "GetDistributionConfig", "UpdateDistribution"],
        "the stale write was refused, then made again from a fresh read"
    );
    let (now, _) = moto.distribution_config(&id);
    assert_eq!(now.comment(), "changed by another writer", "the other change is kept");
    assert_eq!(shield_of(&now, "static").unwrap().origin_shield_region(), Some("eu-central-1"));
    assert_eq!(ws.plan().code, 0);
}

#[test]
fn two_origins_of_one_distribution_in_one_apply_both_land() {
    let moto = Moto::shared();
    let id = distribution(moto, "two-at-once");
    let ws = workspace(moto);
    ws.write(&format!(
        "{}{}",
        config(&id, "static", "  shield_region       = \"us-west-2\"\n  wait_for_deployment = false\n"),
        config(&id, "media", "  shield_region       = \"us-west-2\"\n  wait_for_deployment = false\n")
    ));
    ws.init();
    // A throttled account: the SDK's retries absorb it.
    moto.fail_next("GetDistributionConfig", &id, &["Throttling"]);
    ws.apply();
    let (now, _) = moto.distribution_config(&id);
    for origin in ["static", "media"] {
        assert!(shield_of(&now, origin).unwrap().enabled(), "{origin}: concurrent writes to one distribution must not lose each other");
    }
    assert!(!shield_of(&now, "api").unwrap().enabled());

    // Refreshes of both share the refresh's one read of the distribution.
    let before = calls(moto, &id).len();
    for _ in 0..3 {
        assert_eq!(ws.plan().code, 0);
    }
    let reads = calls(moto, &id)[before..].iter().filter(|a| *a == "GetDistribution").count();
    assert_eq!(reads, 3, "one GetDistribution per distribution and refresh, not one per origin: {:?}", &calls(moto, &id)[before..]);
    let writes = calls(moto, &id).iter().filter(|a| *a == "UpdateDistribution").count();
    assert_eq!(writes, 2, "the two resources took turns: no write met the other's version");
}

#[test]
fn bad_input_is_refused_at_plan_time_with_nothing_changed() {
    let moto = Moto::shared();
    let id = distribution(moto, "bad-input");
    let ws = workspace(moto);

    ws.write(&config(&id, "api", "  shield_region = \"us-west-1\"\n"));
    ws.init();
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    let flat = plan.flat();
    assert!(flat.contains("shield_region") && flat.contains("us-west-2") && flat.contains("sa-east-1"), "the regions are listed: {flat}");
    assert!(calls(moto, &id).is_empty(), "an invalid region calls nothing: {:?}", calls(moto, &id));

    ws.write(&config(&id, "api", ""));
    let plan = ws.plan();
    assert_eq!(plan.code, 1);
    assert!(plan.flat().contains("Origin Shield needs a region"), "{}", plan.all());

    // An origin or a distribution that may come from this apply: a warning naming it, and the
    // error at apply, with nothing written.
    ws.write(&config(&id, "images", "  shield_region = \"us-east-1\"\n"));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.flat().contains("No such origin yet"), "{}", plan.all());
    assert!(plan.flat().contains(r#"has no origin "images". Its origins are "api", "static", "media""#), "{}", plan.all());
    let failed = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(failed.code, 1, "{}", failed.all());
    assert!(failed.flat().contains(r#"has no origin "images""#), "{}", failed.all());
    assert!(!calls(moto, &id).iter().any(|a| a == "UpdateDistribution"));

    ws.write(&config("EDOESNOTEXIST1", "api", "  shield_region = \"us-east-1\"\n"));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.flat().contains("No such distribution yet"), "{}", plan.all());
    assert!(ws.tf(&["state", "list"]).stdout.trim().is_empty(), "nothing was recorded");
}

#[test]
fn import_then_a_clean_plan_and_retain_leaves_it_on() {
    let moto = Moto::shared();
    let id = distribution(moto, "imported");
    let ws = workspace(moto);
    ws.write(&config(&id, "media", "  shield_region = \"ap-northeast-1\"\n"));
    ws.init();
    ws.apply();
    ws.ok(&["state", "rm", "scaling_origin_shield.media"]);

    let bad = ws.tf(&["import", "-no-color", "scaling_origin_shield.media", &id]);
    assert_ne!(bad.code, 0);
    assert!(bad.flat().contains("DISTRIBUTION_ID/ORIGIN_ID"), "{}", bad.all());
    ws.ok(&["import", "-no-color", "scaling_origin_shield.media", &format!("{id}/media")]);
    let plan = ws.plan();
    assert_eq!(plan.code, 0, "an import matching the configuration plans nothing:\n{}", plan.all());

    // A setting only this provider reads changes state only: CloudFront is not written.
    ws.write(&config(&id, "media", "  shield_region = \"ap-northeast-1\"\n  on_destroy    = \"retain\"\n"));
    let plan = ws.plan();
    assert!(plan.flat().contains(r#"~ on_destroy = "restore" -> "retain""#), "{}", plan.all());
    let before = calls(moto, &id).len();
    ws.apply();
    assert!(!calls(moto, &id)[before..].iter().any(|a| a == "UpdateDistribution"), "{:?}", calls(moto, &id));
    assert_eq!(ws.plan().code, 0);

    ws.destroy();
    let shield = shield_of(&moto.distribution_config(&id).0, "media").unwrap();
    assert!(shield.enabled(), "retain leaves Origin Shield on");
}

#[test]
fn without_waiting_apply_returns_while_in_progress_and_gone_objects_leave_state() {
    let moto = Moto::shared();
    let id = distribution(moto, "no-wait");
    let ws = workspace(moto);
    let both = config(&id, "api", "  shield_region       = \"sa-east-1\"\n  wait_for_deployment = false\n")
        + &config(&id, "static", "  shield_region       = \"sa-east-1\"\n  wait_for_deployment = false\n");
    ws.write(&both);
    ws.init();
    ws.apply();
    let state = ws.ok(&["state", "show", "-no-color", "scaling_origin_shield.api"]).flat();
    assert!(state.contains(r#"distribution_status = "InProgress""#), "{state}");

    // Out of band the origin is removed from the distribution: the resource leaves state,
    // and the plan says the origin is not there, without refusing.
    let (mut edited, etag) = moto.distribution_config(&id);
    let origins = edited.origins.as_mut().unwrap();
    origins.items.retain(|o| o.id != "api");
    origins.quantity = origins.items.len() as i32;
    edited.default_cache_behavior.as_mut().unwrap().target_origin_id = "static".into();
    let update_id = id.clone();
    moto.cloudfront(|c| async move {
        c.update_distribution().id(&update_id).if_match(etag).distribution_config(edited).send().await.unwrap();
    });
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.flat().contains("No such origin yet") && plan.flat().contains(r#"has no origin "api""#), "{}", plan.all());
    // One missing origin never blocks destroying the other shields.
    ws.destroy();
    assert!(ws.tf(&["state", "list"]).stdout.trim().is_empty());
    assert!(!shield_of(&moto.distribution_config(&id).0, "static").unwrap().enabled(), "the other shield was destroyed (disabled)");
}

#[test]
fn an_unreachable_endpoint_and_no_region_are_told_apart() {
    let moto = Moto::shared();
    let id = distribution(moto, "misconfigured");
    let ws = workspace(moto);
    let provider = |endpoint: &str| {
        format!(
            "terraform {{\n  required_providers {{\n    scaling = {{ source = \"skillancer/scaling\" }}\n  }}\n}}\n\
             provider \"scaling\" {{\n  max_retries = 0\n  endpoints {{\n    cloudfront = \"{endpoint}\"\n  }}\n}}\n{}",
            config(&id, "api", "  shield_region = \"us-east-1\"\n")
        )
    };
    // No region anywhere (the workspace's environment has none either): CloudFront is
    // global and needs none.
    ws.write_raw(&provider(&moto.endpoint()));
    ws.init();
    ws.apply();
    assert!(shield_of(&moto.distribution_config(&id).0, "api").unwrap().enabled());

    // Nothing listens there: the plan names the call and the endpoint problem.
    let nowhere = format!("http://127.0.0.1:{}", scaling_testkit::free_port());
    ws.write_raw(&provider(&nowhere));
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.flat().contains("GetDistribution: could not reach the endpoint"), "{}", plan.all());
    assert!(plan.flat().contains(&nowhere), "the endpoint is named:\n{}", plan.all());
}

/// A shield that was on before this resource adopted the origin is recorded as found, and the
/// default destroy (`restore`) puts it back as it was, region included; `disable` turns it off.
#[test]
fn a_shield_found_on_is_restored_on_destroy_and_disable_turns_it_off() {
    let moto = Moto::shared();
    let id = distribution(moto, "found-on");
    let (mut edited, etag) = moto.distribution_config(&id);
    for o in edited.origins.as_mut().unwrap().items.iter_mut().filter(|o| o.id == "api" || o.id == "static") {
        o.origin_shield = Some(OriginShield::builder().enabled(true).origin_shield_region("eu-west-1").build().unwrap());
    }
    let update_id = id.clone();
    moto.cloudfront(|c| async move {
        c.update_distribution().id(&update_id).if_match(etag).distribution_config(edited).send().await.unwrap();
    });
    let ws = workspace(moto);
    ws.write(
        &(config(&id, "api", "  shield_region = \"us-east-2\"\n")
            + &config(&id, "static", "  shield_region = \"us-east-2\"\n  on_destroy    = \"disable\"\n")),
    );
    ws.init();
    ws.apply();
    let state = ws.ok(&["state", "show", "-no-color", "scaling_origin_shield.api"]).flat();
    assert!(state.contains("original_enabled = true") && state.contains(r#"original_shield_region = "eu-west-1""#), "{state}");
    assert_eq!(ws.plan().code, 0);

    ws.destroy();
    let (after, _) = moto.distribution_config(&id);
    let api = shield_of(&after, "api").unwrap();
    assert!(api.enabled() && api.origin_shield_region() == Some("eu-west-1"), "restored as found: {api:?}");
    assert!(!shield_of(&after, "static").unwrap().enabled(), "disable turns it off");
}

/// A write to one origin's shield gives the distribution a new ETag: the next plan does not
/// report the sibling origins' shields as changed outside of Terraform (a drift check would
/// count them).
#[test]
fn a_write_to_one_origin_is_not_drift_on_its_siblings() {
    let moto = Moto::shared();
    let id = distribution(moto, "siblings");
    let ws = workspace(moto);
    let both = |api_region: &str| {
        config(&id, "api", &format!("  shield_region = \"{api_region}\"\n")) + &config(&id, "static", "  shield_region = \"us-east-1\"\n")
    };
    ws.write(&both("us-east-1"));
    ws.init();
    ws.apply();
    ws.write(&both("us-east-2"));
    ws.apply();
    let plan = ws.plan();
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert!(!plan.stdout.contains("changed outside of Terraform"), "our own write is not drift:\n{}", plan.stdout);
}
