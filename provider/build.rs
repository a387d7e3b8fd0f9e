//! Compiles the protocol definitions in `../proto` with a pure-Rust protobuf compiler, so the
//! build needs nothing but cargo (no system `protoc`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["tfplugin6.proto", "plugin/grpc_controller.proto", "plugin/grpc_stdio.proto", "plugin/grpc_broker.proto"];
    for f in files {
        println!("cargo:rerun-if-changed=../proto/{f}");
    }
    // A position-dependent executable has no load-time relocations: the loader neither reads
    // ~0.8 MB of relocation entries nor dirties ~0.5 MB of relocated read-only data, which is
    // a tenth of the provider's idle memory. Go providers (Terraform's peers) are built the
    // same way; shared libraries, heap and stacks stay randomised.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    let descriptors = protox::compile(files, ["../proto"])?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(descriptors)?;
    Ok(())
}
