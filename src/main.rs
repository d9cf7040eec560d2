//! The `mmm` command-line tool; see `mmm --help`.
fn main() -> std::process::ExitCode {
    mmm::cli::main()
}
