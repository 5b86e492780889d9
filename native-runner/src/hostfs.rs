//! Host directories in and out of namespaces (MemFs copies, written back after a run).

use oanix_core::{FileKind, FileService, FsError, FsPath, FsResult, MemFs, Namespace};
use std::path::Path;
use std::sync::Arc;

/// Loads a host directory tree (files, directories, symlinks) into a new [`MemFs`].
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
        } else if ty.is_symlink() {
            let target = std::fs::read_link(entry.path()).map_err(io)?;
            fs.symlink(&target.to_string_lossy(), &path)?;
        }
    }
    Ok(())
}

/// Makes host directory `dir` hold exactly the tree at `at` in `fs`: files and directories
/// are created or rewritten, symlinks re-created, and host entries missing from `fs` removed.
pub fn write_back(fs: &dyn FileService, at: &FsPath, dir: &Path) -> FsResult<()> {
    std::fs::create_dir_all(dir).map_err(io)?;
    let entries = fs.readdir(at)?;
    let keep: std::collections::HashSet<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    for host in std::fs::read_dir(dir).map_err(io)? {
        let host = host.map_err(io)?;
        let name = host.file_name().to_string_lossy().into_owned();
        let ty = host.file_type().map_err(io)?;
        let wanted = entries.iter().find(|e| e.name == name).map(|e| e.kind);
        let same_kind = match wanted {
            Some(FileKind::Dir) => ty.is_dir(),
            Some(FileKind::Symlink) => false, // always re-created
            Some(_) => ty.is_file(),
            None => false,
        };
        if !keep.contains(name.as_str()) || !same_kind {
            if ty.is_dir() {
                std::fs::remove_dir_all(host.path()).map_err(io)?;
            } else {
                std::fs::remove_file(host.path()).map_err(io)?;
            }
        }
    }
    for e in entries {
        let path = at.join_name(&e.name);
        let host = dir.join(&e.name);
        match e.kind {
            FileKind::Dir => write_back(fs, &path, &host)?,
            FileKind::Symlink => {
                let target = fs.readlink(&path)?;
                #[cfg(unix)]
                std::os::unix::fs::symlink(target, &host).map_err(io)?;
                #[cfg(not(unix))]
                let _ = target;
            }
            _ => {
                let h = fs.open(&path, &oanix_core::OpenOptions::read())?;
                std::fs::write(&host, oanix_core::service::read_all(h.as_ref())?).map_err(io)?;
            }
        }
    }
    Ok(())
}

/// A host directory tree as a sorted map: `path/` → `None` for directories, file → bytes,
/// symlink → `Some(b"-> target")`. Used to compare trees after runs.
pub fn dump_host_dir(
    dir: &Path,
) -> std::io::Result<std::collections::BTreeMap<String, Option<Vec<u8>>>> {
    fn walk(
        base: &Path,
        dir: &Path,
        out: &mut std::collections::BTreeMap<String, Option<Vec<u8>>>,
    ) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let rel = e
                .path()
                .strip_prefix(base)
                .unwrap_or(&e.path())
                .to_string_lossy()
                .into_owned();
            let ty = e.file_type()?;
            if ty.is_dir() {
                out.insert(format!("{rel}/"), None);
                walk(base, &e.path(), out)?;
            } else if ty.is_symlink() {
                let t = std::fs::read_link(e.path())?;
                out.insert(rel, Some(format!("-> {}", t.display()).into_bytes()));
            } else {
                out.insert(rel, Some(std::fs::read(e.path())?));
            }
        }
        Ok(())
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
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
