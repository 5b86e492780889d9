//! An agent's day in an OANIX environment: reads /task/spec.json, counts the words of the
//! input, writes /workspace/report.txt, logs an event and two ATIF steps, tries a malformed
//! result (refused), then writes /task/result.json.
use std::fs::{self, OpenOptions};
use std::io::Write;

fn append(path: &str, data: &str) -> std::io::Result<()> {
    OpenOptions::new()
        .append(true)
        .open(path)?
        .write_all(data.as_bytes())
}

fn main() {
    let spec = fs::read_to_string("/task/spec.json").expect("read the spec");
    let goal = spec
        .split("\"goal\": \"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or("?");
    println!("goal: {goal}");
    let input = fs::read_to_string("/workspace/README.md").expect("read the input");
    let words = input.split_whitespace().count();
    fs::write("/workspace/report.txt", format!("{words} words\n")).expect("write the report");
    append(
        "/logs/events/001.jsonl",
        &format!("{{\"level\":\"info\",\"message\":\"counted\",\"data\":{{\"words\":{words}}}}}\n"),
    )
    .expect("log an event");
    append(
        "/logs/atif/trajectory.json",
        "{\"step_id\":1,\"source\":\"user\",\"message\":\"count the words\"}",
    )
    .expect("ATIF step 1");
    append(
        "/logs/atif/trajectory.json",
        &format!("{{\"step_id\":2,\"source\":\"agent\",\"message\":\"{words} words\"}}"),
    )
    .expect("ATIF step 2");
    let bad = fs::write("/task/result.json", "{\"words\": oops}");
    println!(
        "malformed result refused: {}",
        bad.err().and_then(|e| e.raw_os_error()) == Some(28) // EINVAL
    );
    fs::write("/task/result.json", format!("{{\"words\": {words}}}")).expect("write the result");
    eprintln!("done");
}
