//! For wasm32 builds, embeds the guest programs of tests/guests (built for wasm32-wasip1
//! into the shared target/ directory) so the browser harness can run them.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    // The browser run of the WASI testsuite exists only when a suite server is given.
    println!("cargo::rustc-check-cfg=cfg(oanix_suite)");
    println!("cargo:rerun-if-env-changed=OANIX_SUITE_URL");
    if std::env::var_os("OANIX_SUITE_URL").is_some() {
        println!("cargo:rustc-cfg=oanix_suite");
    }
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("guests.rs");
    let mut code = String::from("/// Guest programs by name (wasm32 builds only).\n");
    code.push_str("pub static GUESTS: &[(&str, &[u8])] = &[\n");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| manifest.join("../target"));
        let dir = target.join("wasm32-wasip1/release");
        // Every guest program of tests/guests.
        let bins = manifest.join("guests/src/bin");
        println!("cargo:rerun-if-changed={}", bins.display());
        let guests: BTreeSet<String> = std::fs::read_dir(&bins)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| {
                        e.file_name()
                            .to_str()?
                            .strip_suffix(".rs")
                            .map(String::from)
                    })
                    .collect()
            })
            .unwrap_or_default();
        for g in guests {
            let p = dir.join(format!("{g}.wasm"));
            println!("cargo:rerun-if-changed={}", p.display());
            if p.exists() {
                code.push_str(&format!("    ({g:?}, include_bytes!({:?})),\n", p));
            }
        }
    }
    code.push_str("];\n");
    std::fs::write(out, code).unwrap();
}
