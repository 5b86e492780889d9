//! The network capabilities through files only (`/cap/http`, `/cap/ws`), against the
//! loopback test server whose base URL (`http://127.0.0.1:<port>`) is `argv[1]` or
//! `$OANIX_TEST_URL`. Prints nothing that depends on the port or the host, so natively and
//! in Chromium the output is the same.

use serde_json::{json, Value};
use std::fs::OpenOptions;
use std::io::{Read, Write};

/// Writes one request on a fresh fd and reads that fd's response.
fn request(req: Value) -> Value {
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/cap/http/request")
        .expect("open /cap/http/request");
    f.write_all(req.to_string().as_bytes())
        .expect("write request");
    let mut s = String::new();
    f.read_to_string(&mut s).expect("read response");
    serde_json::from_str(&s).expect("response is JSON")
}

/// The stable part of an error: its category (text before the first `:`).
fn category(v: &Value) -> String {
    match v["error"].as_str() {
        Some(e) => e.split(':').next().unwrap_or("").to_string(),
        None => "none".into(),
    }
}

fn control(cmd: Value) -> Value {
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/cap/ws/control")
        .expect("open /cap/ws/control");
    f.write_all(cmd.to_string().as_bytes())
        .expect("write command");
    let mut s = String::new();
    f.read_to_string(&mut s).expect("read reply");
    serde_json::from_str(&s).expect("reply is JSON")
}

fn status(id: &str) -> Value {
    let s = std::fs::read_to_string(format!("/cap/ws/conns/{id}/status")).expect("status");
    serde_json::from_str(&s).expect("status is JSON")
}

fn main() {
    let base = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("OANIX_TEST_URL").ok())
        .expect("usage: net <http://127.0.0.1:port> (or $OANIX_TEST_URL)");
    let base = base.trim_end_matches('/').to_string();
    let ws_base = base.replacen("http://", "ws://", 1);

    let mut names: Vec<String> = std::fs::read_dir("/cap/http")
        .expect("ls /cap/http")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    println!("/cap/http: {names:?}");

    let r = request(json!({"url": format!("{base}/echo")}));
    println!(
        "GET: status {} method {} body {}",
        r["status"], r["headers"]["x-method"], r["body"]
    );

    let r = request(json!({
        "method": "POST", "url": format!("{base}/echo"),
        "headers": {"x-test": "hello header"}, "body": "hello body"
    }));
    println!(
        "POST: status {} method {} x-test {} body {}",
        r["status"], r["headers"]["x-method"], r["headers"]["x-test"], r["body"]
    );

    let r = request(json!({"url": format!("{base}/status/404")}));
    println!("404: status {} body {}", r["status"], r["body"]);

    let r = request(json!({"url": format!("{base}/binary")}));
    let b64 = r["body_base64"].as_str().unwrap_or("");
    println!(
        "binary: status {} body_base64 {} chars, starts {:?}, text body {}",
        r["status"],
        b64.len(),
        &b64[..b64.len().min(12)],
        r.get("body").is_some()
    );

    let r = request(json!({"method": "PUT", "url": format!("{base}/echo"), "body_base64": "AP+A"}));
    println!("binary echo: {}", r["body_base64"]);

    let r = request(json!({"url": "http://example.org/"}));
    println!("refused origin: {} (status {})", category(&r), r["status"]);

    let r = request(json!({"url": "http://127.0.0.1:1/"}));
    println!("connection refused: {}", category(&r));

    let r = request(json!({"url": format!("{base}/slow?ms=5000"), "timeout_ms": 300}));
    println!("timeout: {}", category(&r));

    // `response` holds the last request's answer.
    let r = request(json!({"method": "POST", "url": format!("{base}/echo"), "body": "last one"}));
    let last: Value = serde_json::from_str(
        &std::fs::read_to_string("/cap/http/response").expect("read /cap/http/response"),
    )
    .expect("JSON");
    println!(
        "response file: {} (same as fd: {})",
        last["body"],
        last == r
    );

    let mut f = OpenOptions::new()
        .write(true)
        .open("/cap/http/request")
        .expect("open");
    println!(
        "malformed request: {}",
        oanix_guests::io(f.write_all(br#"{"url": 5}"#))
    );

    // WebSocket echo.
    let reply = control(json!({"open": format!("{ws_base}/ws")}));
    let id = reply["id"].as_str().expect("an id").to_string();
    println!("ws open: id {id}");
    let mut out = OpenOptions::new()
        .write(true)
        .open(format!("/cap/ws/conns/{id}/out"))
        .expect("open out");
    let mut inp = std::fs::File::open(format!("/cap/ws/conns/{id}/in")).expect("open in");
    out.write_all(b"hello ws").expect("send text");
    let mut buf = [0u8; 256];
    let n = inp.read(&mut buf).expect("recv");
    println!("ws text: {:?}", String::from_utf8_lossy(&buf[..n]));
    out.write_all(&[0, 159, 146, 150, 255])
        .expect("send binary");
    let n = inp.read(&mut buf).expect("recv");
    println!("ws binary: {:?}", &buf[..n]);
    // A message larger than the buffer arrives in pieces, the next one whole.
    out.write_all(&[b'z'; 100]).expect("send");
    out.write_all(b"next").expect("send");
    let n1 = inp.read(&mut buf[..60]).expect("recv");
    let n2 = inp.read(&mut buf[..60]).expect("recv");
    let n3 = inp.read(&mut buf).expect("recv");
    println!(
        "ws pieces: {n1} + {n2}, then {:?}",
        String::from_utf8_lossy(&buf[..n3])
    );
    println!("ws status: {}", status(&id)["state"]);
    let reply = control(json!({"close": id}));
    println!("ws close: {}", reply.get("closed").is_some());
    let n = inp.read(&mut buf).expect("read after close");
    println!("ws in after close: {n} bytes (EOF)");
    let st = status(&id);
    println!(
        "ws status after close: {} error {}",
        st["state"], st["error"]
    );
    println!(
        "ws write after close: {}",
        oanix_guests::io(out.write_all(b"late"))
    );

    let reply = control(json!({"open": "ws://example.org/"}));
    println!("ws refused origin: {}", category(&reply));
    let reply = control(json!({"open": "ws://127.0.0.1:1/"}));
    let id = reply["id"].as_str().expect("an id").to_string();
    let mut inp = std::fs::File::open(format!("/cap/ws/conns/{id}/in")).expect("open in");
    let n = inp.read(&mut buf).expect("read");
    println!(
        "ws connection refused: {n} bytes, {} {}",
        status(&id)["state"],
        category(&status(&id))
    );
}
