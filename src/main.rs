//! The `pakn` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    pakn::cli::run()
}
