//! args_get/args_sizes_get and environ_get/environ_sizes_get: prints argv and sorted env.
fn main() {
    for (i, a) in std::env::args().enumerate() {
        println!("arg[{i}]={a}");
    }
    let mut vars: Vec<_> = std::env::vars().collect();
    vars.sort();
    for (k, v) in vars {
        println!("{k}={v}");
    }
}
