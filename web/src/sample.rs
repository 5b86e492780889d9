//! The namespace a first visit shows: the model in miniature.

use oanix_core::{FsResult, MapFs, MemFs, Namespace};
use std::sync::Arc;

/// `/task` (read-only spec), `/workspace` (editable), `/logs`, `/tmp`.
pub fn default_namespace() -> FsResult<Namespace> {
    let task = MapFs::builder()
        .file(
            "spec.json",
            r#"{
  "id": "demo-1",
  "goal": "Count the words in /workspace/README.md and write the number to /task/result.json",
  "inputs": ["/workspace/README.md"]
}
"#,
        )
        .file(
            "meta.json",
            r#"{ "created_by": "oanix explorer", "version": 1 }
"#,
        )
        .build()?;
    let workspace = MemFs::new();
    workspace.write_file(
        "/README.md",
        b"# Workspace\n\nEverything an agent can see is a file in its namespace.\n",
    )?;
    workspace.write_file("/src/hello.txt", b"hello from /workspace/src\n")?;
    let logs = MemFs::new();
    logs.write_file("/stdout.log", b"")?;
    logs.write_file("/stderr.log", b"")?;
    let mut ns = Namespace::new();
    ns.mount("/task", Arc::new(task))?;
    ns.mount("/workspace", Arc::new(workspace))?;
    ns.mount("/logs", Arc::new(logs))?;
    ns.mount("/tmp", Arc::new(MemFs::new()))?;
    Ok(ns)
}
