//! fd_read on stdin until EOF: echoes it uppercased, byte count to stderr.
use std::io::{Read, Write};
fn main() {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).unwrap();
    std::io::stdout()
        .write_all(&input.to_ascii_uppercase())
        .unwrap();
    eprintln!("read {} bytes", input.len());
}
