//! A NIP-90 customer through files only (`/cap/nostr`): refuses bad requests, submits a
//! kind-5001 job and reads its result from `results/<id>`, submits a kind-5002 job that the
//! test provider refuses and reads the error feedback, then lists `events/` and `status`.
//! Prints nothing that depends on keys, ids, times or ports.

use serde_json::{json, Value};
use std::fs::OpenOptions;
use std::io::{Read, Write};

/// Writes one job request on a fresh fd and reads that fd's reply.
fn submit(doc: &str) -> std::io::Result<Value> {
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/cap/nostr/submit")?;
    f.write_all(doc.as_bytes())?;
    let mut s = String::new();
    f.read_to_string(&mut s)?;
    Ok(serde_json::from_str(&s).expect("submit reply is JSON"))
}

fn read_json(path: &str) -> Value {
    let s = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

fn e_tag(ev: &Value) -> String {
    ev["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t[0] == "e")
        .map(|t| t[1].as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

fn main() {
    let cfg = read_json("/cap/nostr/config.json");
    println!(
        "config: {} relay(s), pubkey of {} hex digits, keys {:?}",
        cfg["relays"].as_array().map_or(0, Vec::len),
        cfg["pubkey"].as_str().map_or(0, str::len),
        cfg.as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>())
    );
    for bad in [
        r#"{"kind": 1, "content": "x"}"#,
        "{not json",
        r#"{"kind": 5001, "x": 1}"#,
    ] {
        match submit(bad) {
            Err(e) => println!("bad request refused: {:?}", e.kind()),
            Ok(v) => println!("bad request accepted: {v}"),
        }
    }

    let req = json!({"kind": 5001, "content": "", "tags": [["i", "hello nostr", "text"]]});
    let id = submit(&req.to_string()).expect("submit")["id"]
        .as_str()
        .expect("id")
        .to_string();
    println!("submitted: id of {} hex digits", id.len());
    let res = read_json(&format!("/cap/nostr/results/{id}"));
    println!(
        "result: kind {} content {} tagged with our id: {}",
        res["kind"],
        res["content"],
        e_tag(&res) == id
    );

    let req = json!({"kind": 5002, "content": "please fail"});
    let id2 = submit(&req.to_string()).expect("submit")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let fb = read_json(&format!("/cap/nostr/results/{id2}"));
    let status = fb["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t[0] == "status")
        .cloned()
        .unwrap_or_default();
    println!(
        "error feedback: kind {} status {status} tagged: {}",
        fb["kind"],
        e_tag(&fb) == id2
    );

    let mut kinds: Vec<u64> = std::fs::read_dir("/cap/nostr/events")
        .expect("ls events")
        .map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            read_json(&format!("/cap/nostr/events/{name}"))["kind"]
                .as_u64()
                .unwrap_or(0)
        })
        .collect();
    kinds.sort();
    println!("events kinds: {kinds:?}");
    let mut results: Vec<String> = std::fs::read_dir("/cap/nostr/results")
        .expect("ls results")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    results.sort();
    let mut ours = vec![id, id2];
    ours.sort();
    println!("results lists our requests: {}", results == ours);
    let st = read_json("/cap/nostr/status");
    let r = &st["relays"][0];
    println!(
        "status: {} sent {} accepted {} rejected {}",
        r["state"], r["sent"], r["accepted"], r["rejected"]
    );
    let secret_visible = std::fs::read_dir("/cap/nostr")
        .expect("ls")
        .any(|e| e.unwrap().file_name().to_string_lossy().contains("secret"));
    println!("secret visible: {secret_visible}");
}
