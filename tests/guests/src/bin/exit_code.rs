//! proc_exit with the code given as argv[1]; writes to both stdout and stderr first.
fn main() {
    let code: i32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    println!("exiting with {code}");
    eprintln!("goodbye from stderr");
    std::process::exit(code);
}
