//! Running cases in the browser host ([`oanix_core::browser::BrowserRunner`]).

use crate::{service_tree, Case, Observed, WORKSPACE};
use oanix_core::browser::BrowserRunner;
use oanix_core::{FsPath, Namespace};
use std::sync::Arc;

include!(concat!(env!("OUT_DIR"), "/guests.rs"));

/// The embedded guest's bytes; panics with the command that builds them when missing.
pub fn guest_bytes(guest: &str) -> &'static [u8] {
    GUESTS
        .iter()
        .find(|(n, _)| *n == guest)
        .map(|(_, b)| *b)
        .unwrap_or_else(|| {
            panic!("guest {guest} not embedded: run `./scripts/dev.sh guests`, then rebuild")
        })
}

/// Runs a case in this browser thread, `/workspace` a fresh MemFs.
pub async fn run_browser(runner: &BrowserRunner, case: &Case) -> Observed {
    let ws = Arc::new(case.workspace().expect("case workspace"));
    let mut ns = Namespace::new();
    ns.mount(WORKSPACE, ws.clone()).expect("mount /workspace");
    let out = runner
        .run(guest_bytes(&case.guest), ns, case.config())
        .await;
    let tree = service_tree(ws.as_ref(), &FsPath::root()).expect("read /workspace back");
    Observed::new(out, tree)
}
