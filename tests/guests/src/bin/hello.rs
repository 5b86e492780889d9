//! The smallest guest: one line to stdout.
fn main() {
    println!("hello from wasi");
}
