//! Running cases in the browser host ([`oanix_core::browser::BrowserRunner`]).

use crate::{service_tree, Case, Observed, WORKSPACE};
use oanix_core::browser::BrowserRunner;
use oanix_core::services::OpfsFs;
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

/// The URL of a loopback server the test needs, as given at compile time (`url` is the
/// test's `option_env!(var)`; `scripts/dev.sh test` starts `server` and sets it). Without
/// it the test is skipped (`None`, said on the console), which only a local run may do:
/// with `CI` or `OANIX_REQUIRE_TEST_SERVER` set at build time it fails.
pub fn server_url(
    url: Option<&'static str>,
    var: &str,
    server: &str,
    test: &str,
) -> Option<&'static str> {
    if url.is_none() {
        assert!(
            option_env!("CI").is_none() && option_env!("OANIX_REQUIRE_TEST_SERVER").is_none(),
            "{var} is not set: start {server} (scripts/dev.sh test does)"
        );
        log(&format!("{test} SKIPPED: {var} not set at build time"));
    }
    url
}

/// Runs `guest` with `args` (argv\[0\] first) in `ns` on the browser host, in this thread,
/// and requires exit status 0 and `expected` on stdout.
pub async fn assert_guest_stdout(
    guest: &str,
    args: Vec<String>,
    ns: Namespace,
    timeout: std::time::Duration,
    expected: &str,
) {
    let cfg = oanix_core::run::RunConfig {
        args,
        timeout: Some(timeout),
        ..Default::default()
    };
    let out = BrowserRunner::new().run(guest_bytes(guest), ns, cfg).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.exit_code,
        Some(0),
        "{:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.error,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, expected);
}

/// `console.log(msg)`, in a window or a worker.
pub fn log(msg: &str) {
    let console = js_sys::Reflect::get(&js_sys::global(), &"console".into()).unwrap();
    let log: js_sys::Function = js_sys::Reflect::get(&console, &"log".into())
        .unwrap()
        .into();
    let _ = log.call1(&console, &msg.into());
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

/// Runs a case with `/workspace` on the Origin Private File System ([`OpfsFs`], a fresh
/// directory named after the case), then flushes it and reads the tree back from a fresh
/// [`OpfsFs::open`] of the same directory: what the guest left must have reached OPFS.
/// The directory is removed afterwards.
#[allow(clippy::arc_with_non_send_sync)] // wasm32: services hold JS objects (see MaybeSendSync)
pub async fn run_browser_on_opfs(runner: &BrowserRunner, case: &Case) -> Observed {
    let name = format!(
        "oanix-parity-{}-{}",
        case.name,
        (js_sys::Math::random() * 1e12) as u64
    );
    let fs = OpfsFs::open(&name).await.expect("open OPFS dir");
    fs.replace_tree(&case.workspace().expect("case workspace"))
        .expect("fill /workspace");
    let mut ns = Namespace::new();
    ns.mount(WORKSPACE, Arc::new(fs.clone()))
        .expect("mount /workspace");
    let out = runner
        .run(guest_bytes(&case.guest), ns, case.config())
        .await;
    fs.flush().await.expect("flush to OPFS");
    let back = OpfsFs::open(&name).await.expect("reopen OPFS dir");
    let tree = service_tree(&back, &FsPath::root()).expect("read /workspace back from OPFS");
    remove_opfs_dir(&name).await;
    Observed::new(out, tree)
}

async fn remove_opfs_dir(name: &str) {
    use js_sys::{Function, Object, Promise, Reflect};
    use wasm_bindgen::JsCast;
    let storage = Reflect::get(&js_sys::global(), &"navigator".into())
        .and_then(|n| Reflect::get(&n, &"storage".into()))
        .expect("navigator.storage");
    let get: Function = Reflect::get(&storage, &"getDirectory".into())
        .expect("getDirectory")
        .unchecked_into();
    let root = wasm_bindgen_futures::JsFuture::from(
        get.call0(&storage)
            .expect("getDirectory()")
            .unchecked_into::<Promise>(),
    )
    .await
    .expect("OPFS root");
    let opts = Object::new();
    let _ = Reflect::set(&opts, &"recursive".into(), &true.into());
    let remove: Function = Reflect::get(&root, &"removeEntry".into())
        .expect("removeEntry")
        .unchecked_into();
    let p = remove
        .call2(&root, &name.into(), &opts)
        .expect("removeEntry()")
        .unchecked_into::<Promise>();
    wasm_bindgen_futures::JsFuture::from(p)
        .await
        .expect("remove the test's OPFS dir");
}
