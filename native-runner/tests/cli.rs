//! The `oanix` binary itself, run as a user runs it: exit codes (guest's, 124 timeout,
//! 125 setup error, 126 invalid module, 134 trap / memory limit), and the flags that shape
//! the namespace (`--mount`, `--mount /=`, `--map`, `--read-only`) or limit the guest
//! (`--timeout`, `--max-memory`). Guests are the WAT files of tests/wat and the `fsutil`
//! guest of tests/guests (built by `./scripts/dev.sh guests`).

mod common;

use common::{guest, temp_dir, wat};
use std::process::{Command, Output};

fn oanix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_oanix"))
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run the oanix binary");
    eprintln!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_guest_runs_and_its_exit_code_is_ours() {
    let o = run(oanix().arg("run").arg(wat("hello")));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "hi\n");
    let o = run(oanix().arg("run").arg(guest("exit_code")).args(["--", "7"]));
    assert_eq!(o.status.code(), Some(7));
}

#[test]
fn timeout_exits_124() {
    let o = run(oanix().args(["run", "--timeout", "300ms"]).arg(wat("loop")));
    assert_eq!(o.status.code(), Some(124));
    assert!(stderr(&o).contains("time"), "{}", stderr(&o));
}

#[test]
fn an_invalid_module_exits_126() {
    let t = temp_dir("invalid");
    let bad = t.path().join("bad.wasm");
    std::fs::write(&bad, b"\0asm\x01\0\0\0garbage").unwrap();
    let o = run(oanix().arg("run").arg(&bad));
    assert_eq!(o.status.code(), Some(126));
    assert!(!stderr(&o).is_empty());
}

#[test]
fn a_trap_exits_134_with_its_message() {
    let o = run(oanix().arg("run").arg(wat("trap")));
    assert_eq!(o.status.code(), Some(134));
    assert!(stderr(&o).contains("unreachable"), "{}", stderr(&o));
}

#[test]
fn the_memory_limit_holds_and_exits_134() {
    // grow.wat grows a page at a time until growth fails, then traps: under a 2 MiB limit
    // growth must fail early (without the limit it would reach 4 GiB).
    let o = run(oanix()
        .args(["run", "--max-memory", "2MiB", "--timeout", "20s"])
        .arg(wat("grow")));
    assert_eq!(o.status.code(), Some(134));
}

#[test]
fn setup_errors_exit_125() {
    let missing = std::env::temp_dir().join("oanix-cli-no-such-dir-at-all");
    let o = run(oanix()
        .arg("run")
        .arg(format!("--mount=/workspace={}", missing.display()))
        .arg(wat("hello")));
    assert_eq!(o.status.code(), Some(125));
    let o = run(oanix().arg("run").arg("/no/such/module.wasm"));
    assert_eq!(o.status.code(), Some(125));
    let o = run(oanix()
        .args(["run", "--timeout", "never"])
        .arg(wat("hello")));
    assert_ne!(o.status.code(), Some(0), "a bad --timeout is refused");
}

#[test]
fn mount_serves_the_real_directory_and_writes_land_there() {
    let t = temp_dir("mount");
    std::fs::write(t.path().join("in.txt"), "from the host\n").unwrap();
    let o = run(oanix()
        .arg("run")
        .arg(format!("--mount=/workspace={}", t.path().display()))
        .arg(guest("fsutil"))
        .args([
            "--",
            "cat",
            "/workspace/in.txt",
            "write",
            "/workspace/out.txt",
            "from the guest",
            "ls",
            "/workspace",
        ]));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "from the host\nin.txt out.txt\n");
    assert_eq!(
        std::fs::read_to_string(t.path().join("out.txt")).unwrap(),
        "from the guest"
    );
}

#[test]
fn mount_at_root_preopens_the_directory_as_slash() {
    let t = temp_dir("root");
    std::fs::create_dir(t.path().join("sub")).unwrap();
    std::fs::write(t.path().join("sub/f"), "root file").unwrap();
    let o = run(oanix()
        .arg("run")
        .arg(format!("--mount=/={}", t.path().display()))
        .arg(guest("fsutil"))
        .args(["--", "cat", "/sub/f", "ls", "/"]));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "root filesub\n");
}

#[test]
fn read_only_mounts_refuse_writes_and_keep_the_directory_unchanged() {
    let t = temp_dir("ro");
    std::fs::write(t.path().join("keep.txt"), "original").unwrap();
    let o = run(oanix()
        .arg("run")
        .arg("--read-only")
        .arg(format!("--mount=/workspace={}", t.path().display()))
        .arg(guest("fsutil"))
        .args([
            "--",
            "write",
            "/workspace/keep.txt",
            "changed",
            "rm",
            "/workspace/keep.txt",
            "write",
            "/workspace/new.txt",
            "x",
            "cat",
            "/workspace/keep.txt",
        ]));
    assert_eq!(o.status.code(), Some(1), "the writes must fail");
    assert_eq!(stdout(&o), "original");
    let err = stderr(&o);
    assert!(
        err.contains("write /workspace/keep.txt: ROFS") || err.contains("PERM"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(t.path().join("keep.txt")).unwrap(),
        "original"
    );
    assert!(!t.path().join("new.txt").exists());
}

#[test]
fn map_puts_one_host_file_in_the_namespace_read_only() {
    let t = temp_dir("map");
    let f = t.path().join("spec.json");
    std::fs::write(&f, "{\"task\": 1}").unwrap();
    let o = run(oanix()
        .arg("run")
        .arg(format!("--map=/task/spec.json={}", f.display()))
        .arg(guest("fsutil"))
        .args([
            "--",
            "cat",
            "/task/spec.json",
            "write",
            "/task/spec.json",
            "overwritten",
        ]));
    assert_eq!(stdout(&o), "{\"task\": 1}");
    assert_eq!(o.status.code(), Some(1), "writing a mapped file must fail");
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "{\"task\": 1}");
}

#[test]
fn rights_only_shrink() {
    // wasmtime-wasi 48 answers NOTSUP to fd_fdstat_set_rights; OANIX keeps rights as the
    // source of truth for what an fd may do, so this is checked on OANIX alone.
    let t = temp_dir("rights");
    let o = run(oanix()
        .arg("run")
        .arg(format!("--mount=/workspace={}", t.path().display()))
        .arg(guest("rare_calls"))
        .args(["--", "rights"]));
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    for line in [
        "drop write right: ok",
        "write right left: false",
        "write without the right: BADF",
        "regain write right: NOTCAPABLE",
        "set rights bad fd: BADF",
    ] {
        assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
    }
    assert_eq!(
        std::fs::read_to_string(t.path().join("data.txt")).unwrap(),
        "durable"
    );
}
