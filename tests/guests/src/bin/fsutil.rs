//! A tiny file tool for CLI and mount tests: `cat PATH`, `write PATH TEXT`, `ls DIR`,
//! `rm PATH`, `mkdir DIR`, `rmdir DIR`, `mv FROM TO`, and `pause` (waits for a line on
//! stdin, so a run can be held open while another one runs beside it). Prints each outcome (`ok` or the errno's name) so
//! runs are comparable across hosts; exits 1 when any step failed.
use oanix_guests::io;
use std::fs;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut failed = false;
    let mut it = args.iter();
    while let Some(cmd) = it.next() {
        if cmd == "pause" {
            let mut line = String::new();
            match std::io::stdin().read_line(&mut line) {
                Ok(_) => eprintln!("pause: ok"),
                Err(e) => {
                    eprintln!("pause: {e}");
                    failed = true;
                }
            }
            continue;
        }
        let path = it.next().map(String::as_str).unwrap_or("");
        let outcome = match cmd.as_str() {
            "cat" => match fs::read(path) {
                Ok(b) => {
                    print!("{}", String::from_utf8_lossy(&b));
                    Ok(())
                }
                Err(e) => Err(e),
            },
            "write" => fs::write(path, it.next().map(String::as_str).unwrap_or("")),
            "ls" => fs::read_dir(path).map(|rd| {
                let mut names: Vec<String> = rd
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                println!("{}", names.join(" "));
            }),
            "rm" => fs::remove_file(path),
            "mkdir" => fs::create_dir(path),
            "rmdir" => fs::remove_dir(path),
            "mv" => fs::rename(path, it.next().map(String::as_str).unwrap_or("")),
            other => {
                eprintln!("fsutil: unknown command {other:?}");
                std::process::exit(2);
            }
        };
        if outcome.is_err() {
            failed = true;
        }
        eprintln!("{cmd} {path}: {}", io(outcome));
    }
    std::process::exit(i32::from(failed));
}
