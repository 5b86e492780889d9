//! The Namespace Explorer's two halves' shared code: the messages between the page and the
//! engine worker ([`proto`]), the engine itself ([`engine`]: the namespace, its storage and
//! the guests, run in the `oanix-engine` worker), and small helpers both use. The page's
//! binary (`oanix-web`) links only [`proto`] and the helpers; the namespace's code stays in
//! the worker's.
#![forbid(unsafe_code)]
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
// In the browser services are single-threaded (they hold JS objects, e.g. OPFS handles), so
// an `Arc` of one is not `Send` (see core's `MaybeSendSync`).
#![cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]

#[cfg(target_arch = "wasm32")]
pub mod ansi;
#[cfg(target_arch = "wasm32")]
pub mod engine;
#[cfg(target_arch = "wasm32")]
pub mod num;
#[cfg(target_arch = "wasm32")]
pub mod proto;
