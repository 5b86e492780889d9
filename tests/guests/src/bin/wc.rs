//! `wc -c` for pipelines: reads stdin to its end in 64 KiB reads and prints the byte count.
use std::io::Read;

fn main() {
    let mut stdin = std::io::stdin().lock();
    let mut buf = vec![0u8; 64 << 10];
    let mut total = 0u64;
    loop {
        match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n as u64,
            Err(e) => panic!("wc: read: {e}"),
        }
    }
    println!("{total}");
}
