//! `oanix-testserver`: the loopback HTTP + WebSocket test server (see
//! `oanix_tests::testserver`). Binds `127.0.0.1` on a free port (or `--port N`), prints its
//! base URL (`http://127.0.0.1:<port>`) as the first line of stdout, and serves until killed.
#![forbid(unsafe_code)]

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use std::io::Write;
    let mut args = std::env::args().skip(1);
    let (listener, url) = match (args.next().as_deref(), args.next()) {
        (Some("--port"), Some(p)) => {
            let l = std::net::TcpListener::bind(("127.0.0.1", p.parse().expect("port number")))
                .expect("bind");
            l.set_nonblocking(true).expect("nonblocking");
            let url = format!("http://{}", l.local_addr().expect("addr"));
            (l, url)
        }
        (None, _) => oanix_tests::testserver::bind().expect("bind 127.0.0.1:0"),
        _ => {
            eprintln!("usage: oanix-testserver [--port N]");
            std::process::exit(2);
        }
    };
    println!("{url}");
    let _ = std::io::stdout().flush();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(oanix_tests::testserver::serve(listener))
        .expect("serve");
}

#[cfg(target_arch = "wasm32")]
fn main() {}
