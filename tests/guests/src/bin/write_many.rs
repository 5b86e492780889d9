//! Benchmark guest: argv[1] unbuffered 16-byte writes (one fd_write each) to many.bin, then
//! argv[2] MiB written and read back in 4 KiB chunks through big.bin; prints checksums.
//! Both files are removed at the end unless argv[3] is `keep` (big.bin is then left).
use std::fs::File;
use std::io::{Read, Write};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let writes: u64 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mib: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(64);
    let mut f = File::create("/workspace/many.bin").unwrap();
    let rec = *b"0123456789abcdef";
    for _ in 0..writes {
        f.write_all(&rec).unwrap();
    }
    drop(f);
    println!(
        "many.bin: {} bytes",
        std::fs::metadata("/workspace/many.bin").unwrap().len()
    );
    if mib == 0 {
        std::fs::remove_file("/workspace/many.bin").unwrap();
        return;
    }
    let mut chunk = [0u8; 4096];
    let mut f = File::create("/workspace/big.bin").unwrap();
    for i in 0..mib * 256 {
        chunk.fill((i % 251) as u8);
        f.write_all(&chunk).unwrap();
    }
    drop(f);
    let mut f = File::open("/workspace/big.bin").unwrap();
    let mut sum = 0u64;
    loop {
        let n = f.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        sum = chunk[..n]
            .iter()
            .fold(sum, |s, &b| s.wrapping_mul(31).wrapping_add(b as u64));
    }
    println!("big.bin: {} MiB, checksum {sum}", mib);
    if args.get(3).map(String::as_str) != Some("keep") {
        std::fs::remove_file("/workspace/big.bin").unwrap();
    }
    std::fs::remove_file("/workspace/many.bin").unwrap();
}
