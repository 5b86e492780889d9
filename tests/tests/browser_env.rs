//! The same agent environment scenario as `env.rs`, in headless Chromium (dedicated worker,
//! browser host): the report must be identical to the native one.
#![cfg(target_arch = "wasm32")]

use oanix_core::browser::BrowserRunner;
use oanix_tests::{agent, browser};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
async fn agent_env_end_to_end_in_the_browser() {
    let runner = BrowserRunner::new();
    let env = agent::env();
    let out = env
        .run_wasi(&runner, browser::guest_bytes("agent_task"), agent::config())
        .await;
    agent::assert_expected_report(&env, &out);
}
