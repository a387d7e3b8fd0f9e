use std::process::ExitCode;

fn main() -> ExitCode {
    terraform_provider_scaling::plugin::serve(terraform_provider_scaling::provider_server())
}
