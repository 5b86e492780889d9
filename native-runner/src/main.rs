//! `oanix`: the native OANIX command line.

use std::process::ExitCode;

const HELP: &str = "oanix — OANIX native runner

USAGE:
    oanix tree [--mount /POINT=DIR]...    print the namespace built from host directories
    oanix --help

Each --mount copies DIR into an in-memory file system mounted at /POINT.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("tree") => {
            let mut mounts = Vec::new();
            let mut it = args[1..].iter();
            while let Some(a) = it.next() {
                match (a.as_str(), it.clone().next()) {
                    ("--mount", Some(spec)) => {
                        mounts.push(spec.clone());
                        it.next();
                    }
                    (other, _) => {
                        eprintln!("oanix tree: unexpected argument {other:?}\n\n{HELP}");
                        return ExitCode::from(2);
                    }
                }
            }
            match oanix_native_runner::namespace_from_mounts(&mounts)
                .and_then(|ns| oanix_native_runner::render_tree(&ns))
            {
                Ok(tree) => {
                    print!("{tree}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("oanix: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some("--help") | Some("-h") | None => {
            println!("{HELP}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("oanix: unknown command {other:?}\n\n{HELP}");
            ExitCode::from(2)
        }
    }
}
