//! Prints the same benchmark figures as `cargo bench`, from inside headless Chromium.
//! Figures only (run with `--nocapture` to see them); nothing here asserts a speed.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::{console_log, wasm_bindgen_test};
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn print_benchmark_figures() {
    let n = option_env!("OANIX_BENCH_OPS")
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let figures = oanix_core::bench::all(n);
    assert_eq!(figures.len(), 6, "every workload ran");
    for fig in figures {
        console_log!("{fig}");
    }
}
