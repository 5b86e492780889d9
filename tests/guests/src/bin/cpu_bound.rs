//! Benchmark guest: deterministic CPU work with no syscalls until the result is printed
//! (a sieve below argv[1] * 1,000,000 and a xorshift stream).
fn main() {
    let scale: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let n = scale * 1_000_000;
    let mut sieve = vec![true; n];
    let mut count = 0;
    for i in 2..n {
        if sieve[i] {
            count += 1;
            let mut j = i * i;
            while j < n {
                sieve[j] = false;
                j += i;
            }
        }
    }
    let mut x = 0x2545F4914F6CDD1Du64;
    for _ in 0..scale * 4_000_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    println!("primes below {n}: {count}; xorshift {x:016x}");
}
