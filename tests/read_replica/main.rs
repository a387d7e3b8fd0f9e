//! `scaling_read_replica` end to end: the real terraform binary, the provider binary, moto.
//! One test binary (one moto), its tests by topic in the modules below.

use scaling_testkit::{Mirror, Moto, Workspace, REGION};

fn workspace(moto: &'static Moto) -> Workspace {
    Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), Some(moto))
}

fn replica(name: &str, id: &str, source: &str, class: &str, extra: &str) -> String {
    format!(
        "resource \"scaling_read_replica\" \"{name}\" {{\n  identifier                    = \"{id}\"\n  \
         source_db_instance_identifier = \"{source}\"\n  instance_class                = \"{class}\"\n{extra}}}\n"
    )
}

fn set_class(moto: &Moto, id: &str, class: &str) {
    let (id, class) = (id.to_string(), class.to_string());
    moto.rds(REGION, |c| async move {
        c.modify_db_instance().db_instance_identifier(id).db_instance_class(class).apply_immediately(true).send().await.expect("modify");
    });
}

mod configuration;
mod faults;
mod lifecycle;
