mod power_decay;

fn main() -> std::process::ExitCode {
    mmm::cli::main()
}
