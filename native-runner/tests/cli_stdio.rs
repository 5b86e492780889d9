//! The `oanix` binary's standard streams, as a shell user meets them: stdin inherited and
//! streamed (pipes, /dev/null, a terminal), write errors reported to the guest with their
//! errno (`> /dev/full`, `| head -1`), and timeouts that fire while the guest waits on a
//! stream. Guests are the WAT modules of `tests/wat` (and the Rust guests of tests/guests
//! where a real libc's handling matters).

mod common;

use common::{guest, wat};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const OANIX: &str = env!("CARGO_BIN_EXE_oanix");

/// Runs `sh -c script` with `$OANIX` set; returns (status code, stdout, stderr).
fn sh(script: &str) -> (Option<i32>, String, String) {
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .env("OANIX", OANIX)
        .env("WAT", wat("").parent().unwrap())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn piped_stdin_reaches_the_guest_and_ends() {
    let (code, out, err) = sh(r#"printf 'one\ntwo\n' | "$OANIX" run "$WAT/cat.wat""#);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "one\ntwo\n");
    // A Rust guest reading to the end (read_to_end over wasi-libc) sees the same bytes.
    let echo = guest("stdin_echo");
    let (code, out, err) = sh(&format!(
        r#"printf 'x\n' | "$OANIX" run {}"#,
        echo.display()
    ));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "X\n");
    assert!(err.contains("read 2 bytes"), "{err}");
}

#[test]
fn dev_null_stdin_is_end_of_file() {
    let (code, out, err) = sh(r#""$OANIX" run "$WAT/cat.wat" < /dev/null"#);
    assert_eq!((code, out.as_str()), (Some(0), ""), "{err}");
}

#[test]
fn stdin_file_is_streamed_even_when_endless() {
    // /dev/zero never ends: read whole, the guest would never start. `head -c` takes what
    // it needs and closes the pipe; the guest then gets EPIPE (64) and exits with it.
    let (code, out, err) = sh(
        r#"set -o pipefail; "$OANIX" run --stdin /dev/zero "$WAT/cat.wat" | head -c 100000 | wc -c"#,
    );
    assert_eq!(out.trim(), "100000", "{err}");
    assert_eq!(code, Some(64), "{err}");
    let dir = tempdir("stdin-file");
    let f = dir.join("in.txt");
    std::fs::write(&f, "from a file\n").unwrap();
    let (code, out, err) = sh(&format!(
        r#""$OANIX" run --stdin {} "$WAT/cat.wat""#,
        f.display()
    ));
    assert_eq!((code, out.as_str()), (Some(0), "from a file\n"), "{err}");
}

#[test]
fn full_device_is_enospc_for_the_guest() {
    let (code, _, err) = sh(r#""$OANIX" run "$WAT/yes.wat" > /dev/full"#);
    assert_eq!(code, Some(51), "ENOSPC expected: {err}");
    // A real libc turns it into its message (Rust's println! then panics: a trap).
    let hello = guest("hello");
    let (code, _, err) = sh(&format!(r#""$OANIX" run {} > /dev/full"#, hello.display()));
    assert!(err.contains("No space left on device"), "{err}");
    assert_ne!(code, Some(0));
}

#[test]
fn yes_into_head_ends_with_epipe() {
    let (code, out, err) = sh(r#"set -o pipefail; "$OANIX" run "$WAT/yes.wat" | head -1"#);
    assert_eq!(out, "y\n");
    assert_eq!(code, Some(64), "EPIPE expected: {err}");
}

/// Waits (bounded, for a failing test only) until `rx` has delivered text containing `want`.
fn read_until(rx: &mpsc::Receiver<Vec<u8>>, seen: &mut String, want: &str) {
    while !seen.contains(want) {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(chunk) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            Err(e) => panic!("waiting for {want:?} ({e}); saw {seen:?}"),
        }
    }
}

fn reader(mut r: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    rx
}

#[test]
fn terminal_stdin_is_interactive() {
    // `script` gives the guest a pseudo-terminal as stdin/stdout; echo off so that only
    // the guest's output comes back. Each line must come back before the next is sent:
    // input is streamed as typed, not read whole.
    let cmd = format!("stty -echo; exec {OANIX} run {}", wat("cat").display());
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("script (util-linux) is needed");
    let rx = reader(child.stdout.take().unwrap());
    let mut input = child.stdin.take().unwrap();
    let mut seen = String::new();
    // `stty -echo` runs before the guest starts: wait for the terminal to be quiet by
    // sending a first line only once the guest answers it.
    input.write_all(b"first line\n").unwrap();
    read_until(&rx, &mut seen, "first line");
    input.write_all(b"second line\n").unwrap();
    read_until(&rx, &mut seen, "second line");
    // ^D at the start of a line: end of file on a terminal.
    input.write_all(b"\x04").unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}; saw {seen:?}");
}

/// Runs `script` under bash and returns its output plus bash's `times` line for children
/// (user and system CPU of everything it ran).
fn with_cpu_times(script: &str, stdin: Stdio) -> (String, f64) {
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(format!("{script}; echo rc=$?; times"))
        .env("OANIX", OANIX)
        .env("WAT", wat("").parent().unwrap())
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child.wait().unwrap();
    let children = out.lines().last().unwrap_or_default().to_string();
    let secs: f64 = children
        .split_whitespace()
        .map(|t| {
            let (m, s) = t.trim_end_matches('s').split_once('m').unwrap();
            m.parse::<f64>().unwrap() * 60.0 + s.parse::<f64>().unwrap()
        })
        .sum();
    (out, secs)
}

#[test]
fn guest_blocked_on_stdin_times_out_without_spinning() {
    // stdin: a pipe the test keeps open and never writes.
    let (r, w) = std::io::pipe().unwrap();
    let (out, cpu) = with_cpu_times(
        r#""$OANIX" run --timeout 1500ms "$WAT/cat.wat""#,
        Stdio::from(r),
    );
    drop(w);
    assert!(out.contains("rc=124"), "{out}");
    // Start-up (compiling the module) plus 1.5 s of waiting: a spinning wait would burn
    // the whole 1.5 s.
    assert!(cpu < 1.0, "{cpu} s of CPU while blocked on stdin: {out}");
}

#[test]
fn stalled_stdout_reader_does_not_defeat_the_timeout() {
    // stdout: a pipe nobody reads (the test keeps its read end open).
    let (r, w) = std::io::pipe().unwrap();
    let status = Command::new(OANIX)
        .args(["run", "--timeout", "1s"])
        .arg(wat("yes"))
        .stdin(Stdio::null())
        .stdout(Stdio::from(w))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    drop(r);
    assert_eq!(status.status.code(), Some(124), "{status:?}");
    assert!(String::from_utf8_lossy(&status.stderr).contains("timed out"));
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oanix-cli-stdio-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn run_config_default_stdin_is_end_of_file() {
    use oanix_native_runner::{RunConfig, Runner};
    let r = Runner::new().unwrap();
    let module = std::fs::read(wat("cat")).unwrap();
    let out = r.run(&module, oanix_core::Namespace::new(), RunConfig::default());
    assert_eq!(out.exit_code, Some(0), "{:?}", out.error);
    assert!(out.stdout.is_empty());
}
