//! Benchmark guest for the syscall path, the workloads of issue 11:
//! `syscall_bench WRITES STATS MIB [DIR]` — WRITES unbuffered 8-byte writes (one fd_write
//! each) to DIR/many.bin, STATS stats of one file (path_filestat_get), then MIB MiB written
//! and read back in 4 KiB chunks through DIR/big.bin. DIR defaults to /workspace
//! (the benches pass /tmp). Prints what it
//! did (deterministic) and, with `SYSCALL_BENCH_TIMES=1` in the environment, each phase's
//! time as the guest sees it (`clock_time_get`). Files are removed at the end.
use std::fs::File;
use std::io::{Read, Write};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (writes, stats, mib) = (arg(1, 1000), arg(2, 1000), arg(3, 1));
    let dir = args.get(4).cloned().unwrap_or_else(|| "/workspace".into());
    let times = std::env::var("SYSCALL_BENCH_TIMES").is_ok_and(|v| v == "1");
    let phase = |what: String, t: Instant| {
        if times {
            println!("{what}: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
        }
    };

    let many = format!("{dir}/many.bin");
    let mut f = File::create(&many).unwrap();
    let t = Instant::now();
    for _ in 0..writes {
        f.write_all(b"01234567").unwrap();
    }
    phase(format!("{writes} x 8-byte fd_write"), t);
    drop(f);

    let t = Instant::now();
    let mut size = 0;
    for _ in 0..stats {
        size += std::fs::metadata(&many).unwrap().len();
    }
    phase(format!("{stats} x stat"), t);
    println!("many.bin: {} bytes, stat sum {size}", writes * 8);

    let big = format!("{dir}/big.bin");
    let mut chunk = [0u8; 4096];
    let mut f = File::create(&big).unwrap();
    let t = Instant::now();
    for i in 0..mib * 256 {
        chunk.fill((i % 251) as u8);
        f.write_all(&chunk).unwrap();
    }
    phase(format!("{mib} MiB write in 4 KiB"), t);
    drop(f);
    let mut f = File::open(&big).unwrap();
    let mut sum = 0u64;
    let t = Instant::now();
    loop {
        let n = f.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        // One byte per chunk: the read path is measured, not the guest's own loop.
        sum = sum.wrapping_mul(31).wrapping_add(chunk[n - 1] as u64);
    }
    phase(format!("{mib} MiB read in 4 KiB"), t);
    println!("big.bin: {mib} MiB, checksum {sum}");
    std::fs::remove_file(&big).unwrap();
    std::fs::remove_file(&many).unwrap();
}
