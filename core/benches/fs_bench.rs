//! `cargo bench -p oanix-core`: prints MemFs and namespace-resolution figures.

fn main() {
    let n: u64 = std::env::var("OANIX_BENCH_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    println!("oanix-core benchmarks (native, {n} ops each)");
    for fig in oanix_core::bench::all(n) {
        println!("{fig}");
    }
}
