//! The explorer's engine in a real dedicated worker of headless Chromium (where the explorer
//! runs it), with every request and answer taken through what `postMessage` does to it:
//! `serde-wasm-bindgen` both ways and the browser's structured clone between. It starts on
//! the real IndexedDB and OPFS, answers file requests (binary data intact, parts of files,
//! errors with their errno), refuses bad input with a clear message, and reports a run's
//! end as events.
#![cfg(target_arch = "wasm32")]

use js_sys::{Function, Reflect};
use oanix_web::engine::{self, Engine};
use oanix_web::proto::{
    Answer, Event, FileRequest, FromEngine, NostrRequest, Reply, Request, RunRequest, SavedRequest,
    ToEngine, VERSION,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// `value` as the other side of a `postMessage` gets it.
fn posted<T: Serialize + DeserializeOwned>(value: &T) -> T {
    let js = serde_wasm_bindgen::to_value(value).expect("serialises");
    let clone: Function = Reflect::get(&js_sys::global(), &"structuredClone".into())
        .unwrap()
        .unchecked_into();
    let cloned = clone.call1(&JsValue::NULL, &js).expect("structured clone");
    serde_wasm_bindgen::from_value(cloned).expect("deserialises")
}

async fn sleep_ms(ms: i32) {
    let set: Function = Reflect::get(&js_sys::global(), &"setTimeout".into())
        .unwrap()
        .unchecked_into();
    let wait = js_sys::Promise::new(&mut |resolve, _| {
        let _ = set.call2(&JsValue::NULL, &resolve, &ms.into());
    });
    let _ = wasm_bindgen_futures::JsFuture::from(wait).await;
}

/// Sends `request` as the page does and returns the answer as the page reads it.
async fn ask(engine: &Rc<Engine>, request: Request) -> Answer {
    let ToEngine::Call { id, request } = posted(&ToEngine::Call { id: 7, request });
    let answer = engine.handle(request).await;
    match posted(&FromEngine::Answer { id, answer }) {
        FromEngine::Answer { id: 7, answer } => answer,
        other => panic!("unexpected {other:?}"),
    }
}

async fn file(engine: &Rc<Engine>, request: FileRequest) -> Answer {
    ask(engine, Request::File(request)).await
}

async fn start() -> (Rc<Engine>, Rc<RefCell<Vec<Event>>>) {
    let events: Rc<RefCell<Vec<Event>>> = Rc::default();
    let sink = events.clone();
    let (engine, ready) = engine::start(move |e| sink.borrow_mut().push(posted(&e)))
        .await
        .expect("the engine starts");
    let ready = posted(&ready);
    assert!(ready.has_store, "IndexedDB is there: {:?}", ready.notes);
    assert_eq!(ready.version, VERSION);
    (engine, events)
}

#[wasm_bindgen_test]
async fn file_requests_cross_the_boundary_intact() {
    let (engine, _) = start().await;
    let Ok(Reply::Mounts(mounts)) = file(&engine, FileRequest::Mounts).await else {
        panic!("no mount table");
    };
    for m in [
        "/task",
        "/workspace",
        "/logs",
        "/tmp",
        "/env",
        "/jobs",
        "/cap/http",
    ] {
        assert!(
            mounts.iter().any(|x| x.path == m),
            "{m} mounted: {mounts:?}"
        );
    }
    // Every byte value survives both ways (bytes cross as a Uint8Array).
    let all: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let write = FileRequest::Write {
        path: "/tmp/all.bin".into(),
        bytes: all.clone(),
    };
    assert!(matches!(file(&engine, write).await, Ok(Reply::Done)));
    let Ok(Reply::Bytes(back)) = file(
        &engine,
        FileRequest::Read {
            path: "/tmp/all.bin".into(),
        },
    )
    .await
    else {
        panic!("read failed");
    };
    assert_eq!(back, all);
    // The file view's part: the first or the last `limit` bytes, and the whole size.
    let show = |tail| FileRequest::Show {
        path: "/tmp/all.bin".into(),
        limit: 1000,
        tail,
    };
    let Ok(Reply::Shown(head)) = file(&engine, show(false)).await else {
        panic!("show failed");
    };
    assert_eq!((head.size, head.bytes.as_slice()), (70_000, &all[..1000]));
    assert!(head.partial() && head.save && head.rename_delete);
    let Ok(Reply::Shown(end)) = file(&engine, show(true)).await else {
        panic!("show failed");
    };
    assert_eq!(end.bytes.as_slice(), &all[69_000..]);
    let Ok(Reply::Listing(l)) = file(
        &engine,
        FileRequest::List {
            path: "/tmp".into(),
        },
    )
    .await
    else {
        panic!("list failed");
    };
    assert!(l.writable);
    assert!(l
        .entries
        .iter()
        .any(|e| e.name == "all.bin" && e.size == 70_000 && e.kind == "file"));
    // Errors arrive with their errno; nothing is lost by a refused edit.
    let create = FileRequest::Create {
        path: "/tmp/all.bin".into(),
        folder: false,
    };
    let e = file(&engine, create).await.expect_err("the name exists");
    assert_eq!(e.errno, "Exist");
    let missing = file(
        &engine,
        FileRequest::Read {
            path: "/tmp/none".into(),
        },
    )
    .await;
    assert_eq!(missing.expect_err("missing").errno, "NoEnt");
    let bad = file(
        &engine,
        FileRequest::Read {
            path: "/tmp/../..".into(),
        },
    )
    .await;
    assert!(bad.is_err(), "a path out of the root is refused");
    let Ok(Reply::Shown(logs)) = file(
        &engine,
        FileRequest::Show {
            path: "/logs/stdout.log".into(),
            limit: 10,
            tail: true,
        },
    )
    .await
    else {
        panic!("logs not shown");
    };
    assert!(!logs.save && !logs.rename_delete, "logs are append-only");
    let Ok(Reply::Listing(task)) = file(
        &engine,
        FileRequest::List {
            path: "/task".into(),
        },
    )
    .await
    else {
        panic!("task not listed");
    };
    assert!(!task.writable, "no new files in /task");
    let rename = FileRequest::Rename {
        from: "/tmp/all.bin".into(),
        to: "/tmp/renamed.bin".into(),
    };
    assert!(matches!(file(&engine, rename).await, Ok(Reply::Done)));
    let is_dir = file(
        &engine,
        FileRequest::IsDir {
            path: "/tmp/renamed.bin".into(),
        },
    )
    .await;
    assert!(matches!(is_dir, Ok(Reply::IsDir(false))));
    let remove = FileRequest::Remove {
        path: "/tmp/renamed.bin".into(),
    };
    assert!(matches!(file(&engine, remove).await, Ok(Reply::Done)));
    // A capability's stream is not read for the view (that would take a program's data).
    let Ok(Reply::Listing(http)) = file(
        &engine,
        FileRequest::List {
            path: "/cap/http".into(),
        },
    )
    .await
    else {
        panic!("/cap/http not listed");
    };
    let stream = http
        .entries
        .iter()
        .find(|e| e.kind == "stream")
        .expect("a stream file");
    let Ok(Reply::Shown(s)) = file(
        &engine,
        FileRequest::Show {
            path: stream.path.clone(),
            limit: 100,
            tail: false,
        },
    )
    .await
    else {
        panic!("stream not shown");
    };
    assert!(s.stream && s.bytes.is_empty(), "{s:?}");
    let Ok(Reply::Tree(rows)) = file(&engine, FileRequest::Tree).await else {
        panic!("no tree");
    };
    assert!(rows.iter().any(|r| r.path == "/task/spec.json"));
    assert!(!rows.iter().any(|r| r.path.starts_with("/tmp/renamed")));
}

#[wasm_bindgen_test]
async fn bad_input_gets_a_clear_refusal() {
    let (engine, events) = start().await;
    let start_run = |args: &str| {
        Request::Run(RunRequest::Start {
            args: args.into(),
            env: String::new(),
            stdin: String::new(),
            keep_stdin: false,
            timeout: "1e20".into(),
            allow_net: "127.0.0.1".into(),
        })
    };
    let e = ask(&engine, start_run("\"unclosed"))
        .await
        .expect_err("refused");
    assert!(e.message.starts_with("arguments:"), "{}", e.message);
    let mut bad_allow = start_run("");
    if let Request::Run(RunRequest::Start { allow_net, .. }) = &mut bad_allow {
        *allow_net = "http://[".into();
    }
    let e = ask(&engine, bad_allow).await.expect_err("refused");
    assert!(e.message.starts_with("network allowlist:"), "{}", e.message);
    let nostr = Request::Nostr(NostrRequest::Submit {
        relays: "not a url".into(),
        module: "http://127.0.0.1/x.wasm".into(),
        args: String::new(),
        stdin: String::new(),
    });
    let e = ask(&engine, nostr).await.expect_err("refused");
    assert!(e.message.starts_with("relays:"), "{}", e.message);
    let open = Request::Saved(SavedRequest::Open {
        name: "never saved".into(),
    });
    assert_eq!(
        ask(&engine, open).await.expect_err("missing").errno,
        "NoEnt"
    );
    // Unknown run ids are ignored, not a panic.
    for r in [
        RunRequest::Stop { id: u64::MAX >> 12 },
        RunRequest::Eof { id: 99 },
        RunRequest::Stdin {
            id: 99,
            text: "x".into(),
        },
    ] {
        assert!(matches!(
            ask(&engine, Request::Run(r)).await,
            Ok(Reply::Done)
        ));
    }
    // Not a module: the run starts, then ends with the reason as its status.
    let module = Request::Run(RunRequest::Module {
        name: "junk.wasm".into(),
        bytes: b"\0asm but not really".to_vec(),
    });
    assert!(ask(&engine, module).await.is_ok());
    let Ok(Reply::Started { id, label }) = ask(&engine, start_run("a b")).await else {
        panic!("not started");
    };
    assert_eq!(label, "junk.wasm a b");
    for _ in 0..200 {
        let ended = events
            .borrow()
            .iter()
            .any(|e| matches!(e, Event::RunStatus { id: i, running: false, .. } if *i == id));
        if ended {
            break;
        }
        sleep_ms(50).await;
    }
    let events = events.borrow();
    let end = events.iter().find_map(|e| match e {
        Event::RunStatus {
            id: i,
            status,
            running: false,
        } if *i == id => Some(status.clone()),
        _ => None,
    });
    let end = end.expect("the run ended");
    assert!(
        !end.starts_with("exit code"),
        "a junk module does not run: {end}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::RunEnded { id: i, .. } if *i == id)),
        "the run is in the history"
    );
}

#[wasm_bindgen_test]
async fn saved_namespaces_round_trip() {
    let (engine, _) = start().await;
    let saved = |r| ask(&engine, Request::Saved(r));
    let write = FileRequest::Write {
        path: "/tmp/kept.txt".into(),
        bytes: b"kept".to_vec(),
    };
    assert!(file(&engine, write).await.is_ok());
    let said = saved(SavedRequest::SaveAs { name: "t1".into() }).await;
    assert!(
        matches!(&said, Ok(Reply::Said(s)) if s.starts_with("saved as t1 (")),
        "{said:?}"
    );
    let Ok(Reply::Saved(list)) = saved(SavedRequest::List).await else {
        panic!("no list");
    };
    assert!(
        list.names.contains(&"t1".to_string()) && list.current == "t1",
        "{list:?}"
    );
    // Removed here, back once the saved namespace is opened.
    let remove = FileRequest::Remove {
        path: "/tmp/kept.txt".into(),
    };
    assert!(file(&engine, remove).await.is_ok());
    let opened = saved(SavedRequest::Open { name: "t1".into() }).await;
    assert!(
        matches!(&opened, Ok(Reply::Said(s)) if s.starts_with("opened t1")),
        "{opened:?}"
    );
    let back = file(
        &engine,
        FileRequest::Read {
            path: "/tmp/kept.txt".into(),
        },
    )
    .await;
    assert!(matches!(back, Ok(Reply::Bytes(b)) if b == b"kept"));
    assert!(saved(SavedRequest::Delete { name: "t1".into() })
        .await
        .is_ok());
    let Ok(Reply::Saved(list)) = saved(SavedRequest::List).await else {
        panic!("no list");
    };
    assert!(!list.names.contains(&"t1".to_string()), "{list:?}");
}
