//! `head -n N` for pipelines: copies the first N lines (default 10) of stdin to stdout and
//! exits 0 without reading further.
use std::io::{BufRead, Write};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = match args.as_slice() {
        [flag, n] if flag == "-n" => n.parse().expect("head: -n needs a number"),
        _ => 10,
    };
    let stdin = std::io::stdin().lock();
    let mut out = std::io::stdout().lock();
    for line in stdin.lines().take(n) {
        writeln!(out, "{}", line.expect("head: read")).expect("head: write");
    }
    out.flush().expect("head: flush");
}
