//! OANIX Namespace Explorer: a Leptos (CSR) page over an OANIX namespace. The page is the
//! UI alone: the namespace lives in the engine worker ([`oanix_web::engine`]) and the
//! components reach it through [`client::Client`]'s messages ([`oanix_web::proto`]).
#![forbid(unsafe_code)]
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

#[cfg(target_arch = "wasm32")]
mod agent;
#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod caps;
#[cfg(target_arch = "wasm32")]
mod client;
#[cfg(target_arch = "wasm32")]
mod explorer;
#[cfg(target_arch = "wasm32")]
mod files;
#[cfg(target_arch = "wasm32")]
mod jobs;
#[cfg(target_arch = "wasm32")]
mod nostr;
#[cfg(target_arch = "wasm32")]
mod review;
#[cfg(target_arch = "wasm32")]
mod run;
#[cfg(target_arch = "wasm32")]
mod saved;

#[cfg(target_arch = "wasm32")]
use oanix_web::{ansi, num, proto};

#[cfg(target_arch = "wasm32")]
fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}

/// The explorer runs only in the browser (`trunk serve`); natively there is nothing to do.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("oanix-web is the browser explorer: run `./scripts/dev.sh serve` and open it.");
}
