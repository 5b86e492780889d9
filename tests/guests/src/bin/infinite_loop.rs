//! Prints, then spins forever without a syscall (only a timeout stops it).
fn main() {
    println!("looping");
    let mut n = 0u64;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}
