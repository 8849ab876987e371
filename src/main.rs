//! The `pakn` binary: everything lives in the library.

/// mimalloc: the service allocates many small, short-lived buffers per
/// request; glibc malloc cost ~12% of CPU under load (benches/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    pakn::install_tls_provider();
    pakn::cli::run()
}
