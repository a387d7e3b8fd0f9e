//! Compiles the protocol definitions in `../proto` with a pure-Rust protobuf compiler, so the
//! build needs nothing but cargo (no system `protoc`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["tfplugin6.proto", "plugin/grpc_controller.proto", "plugin/grpc_stdio.proto", "plugin/grpc_broker.proto"];
    for f in files {
        println!("cargo:rerun-if-changed=../proto/{f}");
    }
    // The binary stays position-independent (the toolchain's default): a process that holds
    // AWS credentials and cluster tokens keeps full address-space randomisation. Linking it
    // -no-pie once saved about 1 MB of idle memory (no load-time relocations), not worth that.
    let descriptors = protox::compile(files, ["../proto"])?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(descriptors)?;
    Ok(())
}
