//! Prints, then traps on `unreachable`.
fn main() {
    println!("about to trap");
    std::hint::black_box(());
    core::arch::wasm32::unreachable();
}
