//! Driving `/cap/http` and `/cap/ws` from native Rust through the file API, blocking the
//! way the hosts do (await `poll_ready`, a waker; never spin). Shared by the network tests
//! and benchmarks.

use oanix_core::net::{Allowlist, NetGrant};
use oanix_core::services::{HttpFs, WsFs};
use oanix_core::{FileHandle, FileService, FsError, FsPath, Interest, Namespace, OpenOptions};
use serde_json::Value;
use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;

/// A grant for `hosts` with default limits.
pub fn grant(hosts: &[&str]) -> NetGrant {
    NetGrant::new(Allowlist::parse(hosts).unwrap())
}

/// A namespace with `/cap/http` and `/cap/ws` for `g` (and the WsFs, for inspection).
pub fn make_ns(g: NetGrant) -> (Namespace, Arc<WsFs>) {
    let mut ns = Namespace::new();
    ns.mount("/cap/http", Arc::new(HttpFs::new(g.clone())))
        .unwrap();
    let ws = Arc::new(WsFs::new(g));
    ns.mount("/cap/ws", ws.clone()).unwrap();
    (ns, ws)
}

/// Opens `path`; panics with the error.
pub fn open(ns: &Namespace, path: &str, opts: OpenOptions) -> Box<dyn FileHandle> {
    ns.open(&FsPath::parse(path).unwrap(), &opts)
        .unwrap_or_else(|e| panic!("open {path}: {e}"))
}

/// Waits (no spinning: the handle's waker) until `h` is ready, at most 20 s.
pub fn wait(h: &dyn FileHandle, interest: Interest) {
    thread_local! {
        static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
    }
    RT.with(|rt| {
        rt.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(20),
                poll_fn(|cx| h.poll_ready(interest, cx)),
            )
            .await
            .expect("handle never became ready")
            .expect("poll_ready error");
        })
    });
}

/// One blocking read (like `fd_read`).
pub fn read_once(h: &dyn FileHandle, buf: &mut [u8]) -> Result<usize, FsError> {
    loop {
        match h.read_at(buf, 0) {
            Err(FsError::WouldBlock) => wait(h, Interest::Read),
            r => return r,
        }
    }
}

/// Reads to end of stream.
pub fn read_to_end(h: &dyn FileHandle) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = read_once(h, &mut buf).expect("read");
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// One blocking write (waits while the handle says `WouldBlock`).
pub fn write(h: &dyn FileHandle, data: &[u8]) -> Result<usize, FsError> {
    loop {
        match h.write_at(data, 0) {
            Err(FsError::WouldBlock) => wait(h, Interest::Write),
            r => return r,
        }
    }
}

/// Writes a request on a fresh fd and reads that fd's response.
pub fn request(ns: &Namespace, req: Value) -> Value {
    let h = open(ns, "/cap/http/request", OpenOptions::read_write());
    write(h.as_ref(), req.to_string().as_bytes()).expect("write request");
    let bytes = read_to_end(h.as_ref());
    assert_eq!(bytes.last(), Some(&b'\n'), "responses end with a newline");
    serde_json::from_slice(&bytes).expect("response is JSON")
}
