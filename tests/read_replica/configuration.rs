//! Bad input, provider settings and imports: refused at plan with the attribute named, nothing created.

use super::*;

#[test]
fn bad_inputs_fail_at_plan_naming_the_attribute_and_create_nothing() {
    let moto = Moto::shared();
    moto.create_source(REGION, "bad-production");
    let cases: &[(&str, String, &str)] = &[
        ("identifier", replica("r", "2-replica", "bad-production", "db.r6g.large", ""), "must start with a letter"),
        ("identifier", replica("r", "bad--replica", "bad-production", "db.r6g.large", ""), "two consecutive hyphens"),
        ("identifier", replica("r", "bad-replica-", "bad-production", "db.r6g.large", ""), "end with a hyphen"),
        ("instance_class", replica("r", "bad-replica", "bad-production", "r6g.large", ""), "RDS instance class"),
        (
            "source_db_instance_identifier",
            replica("r", "bad-replica", "arn:aws:rds:us-west-2:12345:db:bad-production", "db.r6g.large", ""),
            "account ID must be 12 digits",
        ),
        (
            "availability_zone",
            replica("r", "bad-replica", "bad-production", "db.r6g.large", "  availability_zone = \"us-east-1\"\n"),
            "availability zone",
        ),
        (
            "create",
            replica("r", "bad-replica", "bad-production", "db.r6g.large", "  timeouts {\n    create = \"forever\"\n  }\n"),
            "forever",
        ),
        ("tags", replica("r", "bad-replica", "bad-production", "db.r6g.large", "  tags = { \"aws:owner\" = \"me\" }\n"), "AWS reserves"),
        ("tags", replica("r", "bad-replica", "bad-production", "db.r6g.large", "  tags = { \"\" = \"x\" }\n"), "1 to 128 characters"),
        (
            "tags",
            replica("r", "bad-replica", "bad-production", "db.r6g.large", &format!("  tags = {{ \"{}\" = \"x\" }}\n", "k".repeat(129))),
            "1 to 128 characters",
        ),
        (
            "tags",
            replica(
                "r",
                "bad-replica",
                "bad-production",
                "db.r6g.large",
                &format!("  tags = {{ {} }}\n", (0..51).map(|i| format!("t{i} = \"x\"")).collect::<Vec<_>>().join(", ")),
            ),
            "at most 50",
        ),
        ("kms_key_id", replica("r", "bad-replica", "bad-production", "db.r6g.large", "  kms_key_id = \"alias/rds\"\n"), "describe-key"),
        (
            "vpc_security_group_ids",
            replica("r", "bad-replica", "bad-production", "db.r6g.large", "  vpc_security_group_ids = [\"sg-123\"]\n"),
            "security group ID",
        ),
        (
            "vpc_security_group_ids",
            replica("r", "bad-replica", "bad-production", "db.r6g.large", "  vpc_security_group_ids = []\n"),
            "at least 1 needed",
        ),
        (
            "multi_az",
            replica("r", "bad-replica", "bad-production", "db.r6g.large", "  multi_az = true\n  availability_zone = \"us-east-1a\"\n"),
            "choose their own zones",
        ),
        (
            "db_subnet_group_name",
            replica("r", "bad-replica", "bad-production", "db.r6g.large", "  db_subnet_group_name = \"Private\"\n"),
            "lowercase",
        ),
        (
            "parameter_group_name",
            replica("r", "bad-replica", "bad-production", "db.r6g.large", "  parameter_group_name = \"replica_params\"\n"),
            "only letters, digits",
        ),
        ("storage_type", replica("r", "bad-replica", "bad-production", "db.r6g.large", "  storage_type = \"ssd\"\n"), "gp3"),
        (
            "iops",
            replica("r", "bad-replica", "bad-production", "db.r6g.large", "  storage_type = \"gp2\"\n  iops = 3000\n"),
            "no provisioned IOPS",
        ),
        ("iops", replica("r", "bad-replica", "bad-production", "db.r6g.large", "  storage_type = \"io1\"\n"), "set iops = 1000 or more"),
        (
            "storage_throughput",
            replica(
                "r",
                "bad-replica",
                "bad-production",
                "db.r6g.large",
                "  storage_type = \"io1\"\n  iops = 3000\n  storage_throughput = 500\n",
            ),
            "only to storage_type \"gp3\"",
        ),
    ];
    let ws = workspace(moto);
    ws.write(&cases[0].1);
    ws.init();
    for (attribute, config, detail) in cases {
        ws.write(config);
        let plan = ws.plan();
        assert_eq!(plan.code, 1, "{attribute}: plan must fail:\n{}", plan.all());
        let out = plan.all();
        assert!(
            out.contains(&format!("  {attribute} ")) || out.contains(&format!("{attribute} =")),
            "{attribute}: the diagnostic must point at the attribute:\n{out}"
        );
        assert!(plan.flat().contains(detail), "{attribute}: expected {detail:?} in:\n{out}");
        let apply = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
        assert_eq!(apply.code, 1, "{attribute}: apply must fail too");
        assert!(!apply.stdout.contains("Creating..."), "{attribute}: nothing may be created:\n{}", apply.all());
    }
    for id in ["2-replica", "bad--replica", "bad-replica-", "bad-replica"] {
        assert!(moto.instance(REGION, id).is_none(), "{id} must not exist");
    }
}

#[test]
fn missing_source_fails_apply_cleanly() {
    let moto = Moto::shared();
    let ws = workspace(moto);
    ws.write(&replica("r", "orphan-replica", "no-such-production", "db.r6g.large", ""));
    ws.init();
    let apply = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert!(apply.all().contains("Could not create the read replica"), "{}", apply.all());
    assert!(apply.all().contains("CreateDBInstanceReadReplica"), "{}", apply.all());
    let state = ws.tf(&["state", "list"]);
    assert!(state.stdout.trim().is_empty(), "nothing may be in state: {}", state.stdout);
}

#[test]
fn bad_provider_configuration_is_a_diagnostic() {
    let moto = Moto::shared();
    let ws = workspace(moto);
    ws.write_raw(
        "terraform {\n  required_providers {\n    scaling = { source = \"skillancer/scaling\" }\n  }\n}\n\
         provider \"scaling\" {\n  region = \"mars-north\"\n  endpoints {\n    rds = \"127.0.0.1:1\"\n  }\n}\n\
         resource \"scaling_read_replica\" \"r\" {\n  identifier = \"cfg-replica\"\n  source_db_instance_identifier = \"cfg-production\"\n  instance_class = \"db.r6g.large\"\n}\n",
    );
    ws.init();
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    let out = plan.all();
    assert!(out.contains("Invalid region") && out.contains("mars-north"), "{out}");
    assert!(out.contains("Invalid rds") && out.contains("not an http:// or https:// URL"), "{out}");
    assert!(!out.contains("panic"), "{out}");
}

#[test]
fn import_rejects_malformed_ids() {
    let moto = Moto::shared();
    let ws = workspace(moto);
    ws.write(&replica("r", "imp-replica", "imp-production", "db.r6g.large", ""));
    ws.init();
    let out = ws.tf(&["import", "-no-color", "-input=false", "scaling_read_replica.r", "not_an_identifier"]);
    assert_eq!(out.code, 1);
    assert!(out.all().contains("Invalid import ID"), "{}", out.all());
    // A well-formed ID of an instance that does not exist is reported, not imported.
    let out = ws.tf(&["import", "-no-color", "-input=false", "scaling_read_replica.r", "imp-replica"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.all().contains("non-existent") || out.all().contains("Cannot import"), "{}", out.all());
}

#[test]
fn debug_logs_reach_terraform_without_credentials() {
    let moto = Moto::shared();
    moto.create_source(REGION, "log-production");
    let mut ws = workspace(moto);
    ws.set_env("TF_LOG", "trace");
    ws.write(&replica("r", "log-replica", "log-production", "db.r6g.large", ""));
    ws.init();
    let out = ws.apply();
    assert!(out.stderr.contains("provider.terraform-provider-scaling"), "provider logs must reach TF_LOG");
    assert!(out.stderr.contains("configured"), "our own debug events must be visible under TF_LOG=trace");
    assert!(!out.all().contains(scaling_testkit::SECRET_KEY), "the secret key must never be logged");
    let ours: Vec<&str> = out.stderr.lines().filter(|l| l.contains("provider.terraform-provider-scaling: configured")).collect();
    assert!(!ours.is_empty(), "{}", out.stderr);
    for line in ours {
        // go-plugin reads @timestamp; without it every line shows the zero time.
        assert!(line.contains("timestamp=20") && !line.contains("timestamp=0001-"), "our lines carry their real time: {line}");
    }
    ws.destroy();
}

#[test]
fn a_missing_region_fails_at_plan_not_apply() {
    let moto = Moto::shared();
    let ws = workspace(moto);
    ws.write_raw(&format!(
        "terraform {{\n  required_providers {{\n    scaling = {{ source = \"skillancer/scaling\" }}\n  }}\n}}\n\
         provider \"scaling\" {{\n  endpoints {{\n    rds = \"{}\"\n  }}\n}}\n{}",
        moto.endpoint(),
        replica("r", "noregion-replica", "noregion-production", "db.r6g.large", "")
    ));
    ws.init();
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.flat().contains("No AWS region"), "{}", plan.all());
    assert!(moto.instance(REGION, "noregion-replica").is_none());
}

#[test]
fn provider_settings_known_only_after_apply_keep_existing_replicas_in_state() {
    let moto = Moto::shared();
    moto.create_source(REGION, "uk-production");
    let ws = workspace(moto);
    let kept = replica("r", "uk-replica", "uk-production", "db.r6g.large", "");
    ws.write(&kept);
    ws.init();
    ws.apply();

    // The default provider's region now comes from a replica created through another
    // (aliased) provider: unknown until that replica exists, as module users often write it.
    ws.write_raw(&format!(
        "terraform {{\n  required_providers {{\n    scaling = {{ source = \"skillancer/scaling\" }}\n  }}\n}}\n\
         provider \"scaling\" {{\n  alias  = \"bootstrap\"\n  region = \"{REGION}\"\n  endpoints {{\n    rds = \"{endpoint}\"\n  }}\n}}\n\
         resource \"scaling_read_replica\" \"seed\" {{\n  provider = scaling.bootstrap\n  identifier = \"uk-seed\"\n  \
         source_db_instance_identifier = \"uk-production\"\n  instance_class = \"db.r6g.large\"\n}}\n\
         provider \"scaling\" {{\n  region = split(\":\", scaling_read_replica.seed.arn)[3]\n  endpoints {{\n    rds = \"{endpoint}\"\n  }}\n}}\n{kept}",
        endpoint = moto.endpoint(),
    ));
    ws.init();
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "the plan must go ahead on the prior state:\n{}", plan.all());
    assert!(plan.stdout.contains("Plan: 1 to add, 0 to change, 0 to destroy"), "{}", plan.stdout);
    assert!(!plan.stdout.contains("scaling_read_replica.r will be created"), "the existing replica must stay in state:\n{}", plan.stdout);
    ws.apply();
    let clean = ws.plan();
    assert_eq!(clean.code, 0, "{}", clean.all());
    ws.destroy();
    assert!(moto.instance(REGION, "uk-replica").is_none() && moto.instance(REGION, "uk-seed").is_none());
}

#[test]
fn importing_a_primary_is_refused_unless_declared_promoted() {
    let moto = Moto::shared();
    moto.create_source(REGION, "ip-production");
    moto.rds(REGION, |c| async move {
        c.create_db_instance_read_replica()
            .db_instance_identifier("ip-replica")
            .source_db_instance_identifier("ip-production")
            .db_instance_class("db.r6g.large")
            .send()
            .await
            .expect("replica");
    });
    let ws = workspace(moto);
    ws.write(&format!(
        "{}{}",
        replica("primary", "ip-production", "ip-elsewhere", "db.r6g.large", "  promote = true\n"),
        replica("r", "ip-replica", "ip-production", "db.r6g.large", "")
    ));
    ws.init();

    let out = ws.tf(&["import", "-no-color", "-input=false", "scaling_read_replica.primary", "ip-production"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.flat().contains("Not a read replica") && out.flat().contains("ip-production:promoted"), "{}", out.all());
    assert!(ws.tf(&["state", "list"]).stdout.trim().is_empty(), "nothing may be imported");

    let out = ws.tf(&["import", "-no-color", "-input=false", "scaling_read_replica.r", "ip-replica:promoted"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.flat().contains("still replicates from ip-production"), "{}", out.all());

    // Stated as promoted, the standalone instance is imported as such.
    ws.ok(&["import", "-no-color", "-input=false", "scaling_read_replica.primary", "ip-production:promoted"]);
    ws.ok(&["import", "-no-color", "-input=false", "scaling_read_replica.r", "ip-replica"]);
    let state = ws.ok(&["state", "show", "-no-color", "scaling_read_replica.primary"]);
    assert!(state.flat().contains("promote = true"), "{}", state.stdout);
    // Leave the primary out of the destroy below.
    ws.ok(&["state", "rm", "-no-color", "scaling_read_replica.primary"]);
    ws.write(&replica("r", "ip-replica", "ip-production", "db.r6g.large", ""));
    ws.destroy();
    assert!(moto.instance(REGION, "ip-production").is_some());
}

#[test]
fn a_named_profile_wins_over_environment_credentials_and_must_exist() {
    let moto = Moto::shared();
    moto.create_source(REGION, "prof-production");
    let mut ws = workspace(moto);
    let credentials = ws.path().join("aws-credentials");
    std::fs::write(&credentials, "[scaling-ci]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n").unwrap();
    ws.set_env("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap());
    let config = ws.path().join("aws-config");
    std::fs::write(&config, "[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deploy\nsource_profile = scaling-ci\n").unwrap();
    ws.set_env("AWS_CONFIG_FILE", config.to_str().unwrap());
    ws.set_env("AWS_ENDPOINT_URL_STS", &moto.endpoint());
    let with_profile = |profile: &str| {
        format!(
            "{}\n{}",
            ws.provider_block().replace("  region = ", &format!("  profile = \"{profile}\"\n  region = ")),
            replica("r", "prof-replica", "prof-production", "db.r6g.large", "")
        )
    };
    // A misspelt profile must not fall back to AWS_ACCESS_KEY_ID silently.
    ws.write_raw(&with_profile("scaling-cl"));
    ws.init();
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.flat().contains(r#"AWS profile "scaling-cl""#), "{}", plan.all());
    assert!(moto.instance(REGION, "prof-replica").is_none());

    ws.write_raw(&with_profile("scaling-ci"));
    ws.apply();
    assert!(moto.instance(REGION, "prof-replica").is_some());
    // A profile that assumes a role reaches STS (moto's here) with the provider's region.
    ws.write_raw(&with_profile("deploy"));
    let assumed = ws.plan();
    assert_eq!(assumed.code, 0, "an assume-role profile must work:\n{}", assumed.all());
    ws.write_raw(&with_profile(""));
    let empty = ws.plan();
    assert_eq!(empty.code, 1, "{}", empty.all());
    assert!(empty.flat().contains("profile") && empty.flat().contains("is empty"), "{}", empty.all());
    ws.write_raw(&with_profile("scaling-ci"));
    ws.destroy();
}

/// `terraform state push` of a hand-edited state: a clear error, and the state left as it is.
#[test]
fn hand_edited_state_with_a_wrong_type_or_no_identifier_is_a_clear_error_and_left_alone() {
    use serde_json::json;
    let moto = Moto::shared();
    moto.create_source(REGION, "edit-production");
    let ws = workspace(moto);
    ws.write(&replica("r", "edit-replica", "edit-production", "db.r6g.large", ""));
    ws.init();
    ws.apply();
    let pulled: serde_json::Value = serde_json::from_str(&ws.ok(&["state", "pull"]).stdout).unwrap();
    let serial = std::cell::Cell::new(pulled["serial"].as_i64().unwrap());
    let push = |edit: &dyn Fn(&mut serde_json::Value)| -> serde_json::Value {
        let mut state = pulled.clone();
        edit(&mut state["resources"][0]["instances"][0]["attributes"]);
        serial.set(serial.get() + 1);
        state["serial"] = json!(serial.get());
        std::fs::write(ws.path().join("edited.tfstate"), state.to_string()).unwrap();
        ws.ok(&["state", "push", "-force", "edited.tfstate"]);
        state
    };
    let stored = || -> serde_json::Value { serde_json::from_str(&ws.ok(&["state", "pull"]).stdout).unwrap() };

    let pushed = push(&|a| a["port"] = json!("fifty-four thirty-two"));
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.flat().contains("Unreadable state") && plan.flat().contains("port"), "{}", plan.all());
    assert!(!plan.all().contains("panic"), "{}", plan.all());
    assert_eq!(stored()["resources"], pushed["resources"], "a state that cannot be read is left as it is");

    let pushed = push(&|a| {
        a.as_object_mut().unwrap().remove("identifier");
    });
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.flat().contains("Incomplete state") && plan.flat().contains("has no identifier"), "{}", plan.all());
    assert_eq!(stored()["resources"], pushed["resources"]);

    push(&|_| {});
    assert_eq!(ws.plan().code, 0, "the state as it was reads and plans clean");
}
