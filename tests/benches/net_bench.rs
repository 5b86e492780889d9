//! Network capabilities: requests/s and WebSocket messages/s through the files
//! (`/cap/http`, `/cap/ws`, driven through the file API with the hosts' readiness rule)
//! beside the same traffic made directly (reqwest, tokio-tungstenite) against the same
//! loopback test server — the overhead of the file layer. Figures only; nothing asserted
//! beyond correctness of each reply.
//!
//! `OANIX_BENCH_REQUESTS` (default 2000) sequential POSTs, `OANIX_BENCH_WS` (default 5000)
//! sequential WebSocket echo round trips.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use futures_util::{SinkExt, StreamExt};
    use oanix_core::OpenOptions;
    use oanix_tests::netfiles::{grant, make_ns, open, read_once, request, write};
    use oanix_tests::testserver::TestServer;
    use serde_json::json;
    use std::time::Instant;
    use tokio_tungstenite::tungstenite::Message;

    let n_req: usize = std::env::var("OANIX_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let n_ws: usize = std::env::var("OANIX_BENCH_WS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let srv = TestServer::start();
    let url = format!("{}/echo", srv.url);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rate = |n: usize, t: Instant| n as f64 / t.elapsed().as_secs_f64();

    // The file side first: creating it installs rustls' process-wide crypto provider
    // (`ring`), which the direct reqwest client needs too.
    let (ns, _ws) = make_ns(grant(&["127.0.0.1"]));

    // HTTP, direct.
    let client = reqwest::Client::new();
    let t = Instant::now();
    rt.block_on(async {
        for i in 0..n_req {
            let body = client
                .post(&url)
                .body(i.to_string())
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert_eq!(body, i.to_string());
        }
    });
    let direct_http = rate(n_req, t);

    // HTTP, through /cap/http (one fd per request: write the JSON, read the response).
    let t = Instant::now();
    for i in 0..n_req {
        let r = request(
            &ns,
            json!({"method": "POST", "url": url, "body": i.to_string()}),
        );
        assert_eq!(r["body"], i.to_string());
    }
    let files_http = rate(n_req, t);

    // WebSocket, direct.
    let ws_url = format!("{}/ws", srv.ws_url());
    let t = Instant::now();
    rt.block_on(async {
        let (mut s, _) = tokio_tungstenite::connect_async(ws_url.as_str())
            .await
            .unwrap();
        for i in 0..n_ws {
            s.send(Message::text(i.to_string())).await.unwrap();
            let m = s.next().await.unwrap().unwrap();
            assert_eq!(m.into_text().unwrap().as_str(), i.to_string());
        }
        let _ = s.close(None).await;
    });
    let direct_ws = rate(n_ws, t);

    // WebSocket, through /cap/ws (control → id; each write to `out` one message, each read
    // of `in` one message).
    let c = open(&ns, "/cap/ws/control", OpenOptions::read_write());
    write(c.as_ref(), json!({"open": ws_url}).to_string().as_bytes()).unwrap();
    let mut buf = [0u8; 256];
    let n = read_once(c.as_ref(), &mut buf).unwrap();
    let reply: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
    let id = reply["id"].as_str().unwrap().to_string();
    let out = open(
        &ns,
        &format!("/cap/ws/conns/{id}/out"),
        OpenOptions::create_truncate(),
    );
    let inp = open(&ns, &format!("/cap/ws/conns/{id}/in"), OpenOptions::read());
    let t = Instant::now();
    for i in 0..n_ws {
        let msg = i.to_string();
        write(out.as_ref(), msg.as_bytes()).unwrap();
        let n = read_once(inp.as_ref(), &mut buf).unwrap();
        assert_eq!(&buf[..n], msg.as_bytes());
    }
    let files_ws = rate(n_ws, t);

    println!("net_bench: loopback test server, sequential (one in flight), native");
    println!(
        "  HTTP POST /echo x{n_req}:  direct (reqwest) {direct_http:>8.0} req/s | \
         /cap/http files {files_http:>8.0} req/s | files/direct {:.2}",
        files_http / direct_http
    );
    println!(
        "  WS echo round trips x{n_ws}: direct (tokio-tungstenite) {direct_ws:>8.0} msg/s | \
         /cap/ws files {files_ws:>8.0} msg/s | files/direct {:.2}",
        files_ws / direct_ws
    );
}

#[cfg(target_arch = "wasm32")]
fn main() {}
