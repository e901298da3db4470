//! The `rampart` command; all logic lives in the library.

fn main() -> std::process::ExitCode {
    rampart::cli::main()
}
