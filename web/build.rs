//! Compiles the explorer's sample guest (`sample/hello.wat`) to wasm for `include_bytes!`.
fn main() {
    println!("cargo:rerun-if-changed=sample/hello.wat");
    let wasm = wat::parse_file("sample/hello.wat").expect("sample/hello.wat is valid WAT");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("hello.wasm");
    std::fs::write(out, wasm).unwrap();
}
