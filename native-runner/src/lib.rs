//! OANIX native runner: builds namespaces from host directories and (with the WASI shim)
//! runs guest modules in them on wasmtime.

use oanix_core::{FileKind, FileService, FsError, FsPath, FsResult, MemFs, Namespace};
use std::path::Path;
use std::sync::Arc;

/// Loads a host directory tree into a new [`MemFs`] (files, directories; symlinks skipped).
pub fn load_dir(dir: &Path) -> FsResult<MemFs> {
    let fs = MemFs::new();
    load_into(&fs, dir, &FsPath::root())?;
    Ok(fs)
}

fn io(e: std::io::Error) -> FsError {
    FsError::Io(e.to_string())
}

fn load_into(fs: &MemFs, dir: &Path, at: &FsPath) -> FsResult<()> {
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = at.join_name(&name);
        let ty = entry.file_type().map_err(io)?;
        if ty.is_dir() {
            fs.mkdir(&path)?;
            load_into(fs, &entry.path(), &path)?;
        } else if ty.is_file() {
            let data = std::fs::read(entry.path()).map_err(io)?;
            fs.write_file(path.as_str(), &data)?;
        }
    }
    Ok(())
}

/// Parses `--mount /point=DIR` specs into a namespace of MemFs copies.
pub fn namespace_from_mounts(specs: &[String]) -> FsResult<Namespace> {
    let mut ns = Namespace::new();
    for spec in specs {
        let (point, dir) = spec.split_once('=').ok_or_else(|| {
            FsError::InvalidInput(format!("--mount expects /point=DIR, got {spec:?}"))
        })?;
        ns.mount(point, Arc::new(load_dir(Path::new(dir))?))?;
    }
    Ok(ns)
}

/// Renders the namespace as an indented tree, one entry per line.
pub fn render_tree(ns: &Namespace) -> FsResult<String> {
    let mut out = String::from("/\n");
    tree(ns, &FsPath::root(), 1, &mut out)?;
    Ok(out)
}

fn tree(ns: &Namespace, dir: &FsPath, depth: usize, out: &mut String) -> FsResult<()> {
    let mut entries = ns.readdir(dir)?;
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    for e in entries {
        let path = dir.join_name(&e.name);
        let suffix = if e.kind == FileKind::Dir { "/" } else { "" };
        out.push_str(&format!("{}{}{}\n", "  ".repeat(depth), e.name, suffix));
        if e.kind == FileKind::Dir {
            tree(ns, &path, depth + 1, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_a_host_directory_and_renders_the_tree() {
        let dir = std::env::temp_dir().join(format!("oanix-load-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/a.txt"), b"A").unwrap();
        let ns = namespace_from_mounts(&[format!("/workspace={}", dir.display())]).unwrap();
        assert_eq!(ns.read_file("/workspace/sub/a.txt").unwrap(), b"A");
        assert_eq!(
            render_tree(&ns).unwrap(),
            "/\n  workspace/\n    sub/\n      a.txt\n"
        );
        assert!(matches!(
            namespace_from_mounts(&["nonsense".into()]),
            Err(FsError::InvalidInput(_))
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
