//! `yes` for pipelines: writes argv[1] (default `y`) and a newline forever, or with
//! `-c BYTES` writes that many bytes of `y\n` in 64 KiB writes and exits 0. A failed write
//! (`EPIPE` once its reader is gone) is reported on stderr and exits 1, as GNU `yes` does
//! when SIGPIPE is ignored; with `--ignore-errors` it writes on forever regardless (a
//! careless program, which only the host can stop).
use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut out = std::io::stdout().lock();
    let outcome = if args.first().map(String::as_str) == Some("-c") {
        let mut left: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(0);
        let chunk = b"y\n".repeat(32 << 10);
        let mut r = Ok(());
        while left > 0 && r.is_ok() {
            let n = left.min(chunk.len() as u64) as usize;
            r = out.write_all(&chunk[..n]);
            left -= n as u64;
        }
        r.and_then(|()| out.flush())
    } else if args.first().map(String::as_str) == Some("--ignore-errors") {
        loop {
            let _ = out.write_all(b"y\n").and_then(|()| out.flush());
        }
    } else {
        let line = format!("{}\n", args.first().map_or("y", String::as_str));
        loop {
            if let Err(e) = out.write_all(line.as_bytes()).and_then(|()| out.flush()) {
                break Err(e);
            }
        }
    };
    if let Err(e) = outcome {
        eprintln!("yes: standard output: {e}");
        std::process::exit(1);
    }
}
