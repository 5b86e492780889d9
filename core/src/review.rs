//! Reviewing what a run changed before it lands: stage a run's resulting trees into a
//! [`CowFs`] over the live namespace, list [`CowFs::changes`], show a [`line_diff`] for text
//! files, then [`CowFs::commit`] or drop the overlay.
//!
//! [`stage`] is how a run that worked on a *copy* (e.g. a guest in a browser worker that
//! returns a snapshot of its namespace) becomes an overlay: for each root (a mount the run
//! had), what the run changed (its result against the copy it started from) is written
//! into the overlay — new and changed files, new directories, deletions. Nothing reaches
//! the live services until the overlay is committed.

use crate::error::{FsError, FsResult};
use crate::fs::CowFs;
use crate::path::FsPath;
use crate::service::{read_all, write_all_at, FileKind, FileService, Follow, OpenOptions};

/// Stages a run's result into `cow` (an overlay over the live namespace): for each of
/// `roots`, what the run changed between `before` (the copy it started from) and `after`
/// (what it left) is written into the overlay — added and modified files, new directories,
/// deletions — and everything the run did not change is left as the live namespace has it
/// now (edits made meanwhile survive a commit). Without `before`, the overlay's view of each
/// root is made equal to `after`. Paths in `skip` (e.g. mount points the run did not have)
/// are left alone.
pub fn stage(
    cow: &CowFs,
    before: Option<&dyn FileService>,
    after: &dyn FileService,
    roots: &[FsPath],
    skip: &[FsPath],
) -> FsResult<()> {
    for root in roots {
        sync_dir(cow, before, after, root, skip)?;
    }
    Ok(())
}

fn lstat(fs: &dyn FileService, path: &FsPath) -> FsResult<Option<crate::Metadata>> {
    match fs.stat(path, Follow::No) {
        Ok(m) => Ok(Some(m)),
        Err(FsError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `mkdir -p` in the overlay.
fn ensure_dir(cow: &CowFs, dir: &FsPath) -> FsResult<()> {
    let mut cur = FsPath::root();
    for comp in dir.components() {
        cur = cur.join_name(comp);
        match lstat(cow, &cur)? {
            Some(m) if m.is_dir() => {}
            Some(_) => {
                cow.remove_file(&cur)?;
                cow.mkdir(&cur)?;
            }
            None => cow.mkdir(&cur)?,
        }
    }
    Ok(())
}

fn read(fs: &dyn FileService, path: &FsPath) -> FsResult<Vec<u8>> {
    read_all(fs.open(path, &OpenOptions::read())?.as_ref())
}

fn write(fs: &dyn FileService, path: &FsPath, data: &[u8]) -> FsResult<()> {
    let h = fs.open(path, &OpenOptions::create_truncate())?;
    write_all_at(h.as_ref(), data, 0)
}

/// Removes a file or a whole tree.
fn remove_tree(fs: &dyn FileService, path: &FsPath) -> FsResult<()> {
    if fs.stat(path, Follow::No)?.is_dir() {
        for e in fs.readdir(path)? {
            remove_tree(fs, &path.join_name(&e.name))?;
        }
        fs.remove_dir(path)
    } else {
        fs.remove_file(path)
    }
}

fn sync_dir(
    cow: &CowFs,
    before: Option<&dyn FileService>,
    after: &dyn FileService,
    dir: &FsPath,
    skip: &[FsPath],
) -> FsResult<()> {
    // What the run started from: the copy it was given, else the live view.
    let base: &dyn FileService = before.unwrap_or(cow);
    let want = after.readdir(dir)?;
    let had = match base.readdir(dir) {
        Ok(v) => v,
        Err(FsError::NotFound | FsError::NotADirectory) => Vec::new(),
        Err(e) => return Err(e),
    };
    for h in &had {
        let p = dir.join_name(&h.name);
        if !skip.contains(&p) && !want.iter().any(|w| w.name == h.name) && lstat(cow, &p)?.is_some()
        {
            remove_tree(cow, &p)?;
        }
    }
    for w in &want {
        let p = dir.join_name(&w.name);
        if skip.contains(&p) {
            continue;
        }
        let prior = lstat(base, &p)?;
        match w.kind {
            FileKind::Dir => {
                if !prior.as_ref().is_some_and(|m| m.is_dir()) {
                    // A directory the run made (possibly over a file).
                    if lstat(cow, &p)?.is_some_and(|m| !m.is_dir()) {
                        cow.remove_file(&p)?;
                    }
                    ensure_dir(cow, &p)?;
                }
                sync_dir(cow, before, after, &p, skip)?;
            }
            FileKind::File => {
                let data = read(after, &p)?;
                if prior.is_some_and(|m| !m.is_dir()) && read(base, &p)? == data {
                    continue; // the run did not change it
                }
                match lstat(cow, &p)? {
                    Some(m) if m.is_dir() => remove_tree(cow, &p)?,
                    Some(_) if read(cow, &p)? == data => continue,
                    _ => {}
                }
                ensure_dir(cow, dir)?;
                write(cow, &p, &data)?;
            }
            // Links and streams are not staged (a run's copy holds files and directories).
            _ => {}
        }
    }
    Ok(())
}

/// One line of a [`line_diff`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine {
    /// In both.
    Same(String),
    /// Only in the old text.
    Removed(String),
    /// Only in the new text.
    Added(String),
}

/// Above this many line pairs the diff is "all old lines removed, all new added" (the
/// longest-common-subsequence table would be too large).
const LCS_MAX_CELLS: usize = 4_000_000;

/// A line diff of two texts (longest common subsequence; common prefix and suffix first).
pub fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut out: Vec<DiffLine> = a[..prefix]
        .iter()
        .map(|l| DiffLine::Same(l.to_string()))
        .collect();
    let (n, m) = (am.len(), bm.len());
    if n.saturating_mul(m) > LCS_MAX_CELLS {
        out.extend(am.iter().map(|l| DiffLine::Removed(l.to_string())));
        out.extend(bm.iter().map(|l| DiffLine::Added(l.to_string())));
    } else {
        // lcs[i][j]: LCS length of am[i..] and bm[j..].
        let w = m + 1;
        let mut lcs = vec![0u32; (n + 1) * w];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i * w + j] = if am[i] == bm[j] {
                    lcs[(i + 1) * w + j + 1] + 1
                } else {
                    lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && am[i] == bm[j] {
                out.push(DiffLine::Same(am[i].to_string()));
                i += 1;
                j += 1;
            } else if i < n && (j == m || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
                out.push(DiffLine::Removed(am[i].to_string()));
                i += 1;
            } else {
                out.push(DiffLine::Added(bm[j].to_string()));
                j += 1;
            }
        }
    }
    out.extend(
        a[a.len() - suffix..]
            .iter()
            .map(|l| DiffLine::Same(l.to_string())),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChangeKind, MemFs, Namespace};
    use std::sync::Arc;

    fn p(s: &str) -> FsPath {
        FsPath::parse(s).unwrap()
    }

    /// A live namespace and a run's copy of it (a snapshot restored, as the worker does).
    fn live_and_copy() -> (Namespace, Namespace) {
        let ws = MemFs::new();
        ws.write_file("/keep.txt", b"same\n").unwrap();
        ws.write_file("/edit.txt", b"one\ntwo\n").unwrap();
        ws.write_file("/gone/a.txt", b"a").unwrap();
        let mut live = Namespace::new();
        live.mount("/workspace", Arc::new(ws)).unwrap();
        live.mount("/tmp", Arc::new(MemFs::new())).unwrap();
        let (copy, skipped) = Namespace::from_snapshot(&live.snapshot()).unwrap();
        assert!(skipped.is_empty());
        (live, copy)
    }

    fn run_on(copy: &Namespace) {
        copy.write_file("/workspace/edit.txt", b"one\n2\n").unwrap();
        copy.mkdir(&p("/workspace/new")).unwrap();
        copy.write_file("/workspace/new/b.txt", b"b").unwrap();
        copy.remove_file(&p("/workspace/gone/a.txt")).unwrap();
        copy.remove_dir(&p("/workspace/gone")).unwrap();
    }

    #[test]
    fn staged_changes_are_listed_and_commit_applies_them() {
        let (live, copy) = live_and_copy();
        run_on(&copy);
        let cow = CowFs::new(Arc::new(live.clone()));
        stage(&cow, None, &copy, &[p("/workspace"), p("/tmp")], &[]).unwrap();
        // Nothing reached the live namespace yet.
        assert_eq!(
            live.read_file("/workspace/edit.txt").unwrap(),
            b"one\ntwo\n"
        );
        assert!(live.metadata("/workspace/new").is_err());
        let changes: Vec<(String, ChangeKind)> = cow
            .changes()
            .unwrap()
            .into_iter()
            .map(|c| (c.path.to_absolute(), c.kind))
            .collect();
        assert_eq!(
            changes,
            vec![
                ("/workspace/gone".to_string(), ChangeKind::Deleted),
                ("/workspace/edit.txt".to_string(), ChangeKind::Modified),
                ("/workspace/new".to_string(), ChangeKind::Added),
                ("/workspace/new/b.txt".to_string(), ChangeKind::Added),
            ]
        );
        cow.commit().unwrap();
        assert_eq!(live.read_file("/workspace/edit.txt").unwrap(), b"one\n2\n");
        assert_eq!(live.read_file("/workspace/new/b.txt").unwrap(), b"b");
        assert_eq!(live.read_file("/workspace/keep.txt").unwrap(), b"same\n");
        assert!(live.metadata("/workspace/gone").is_err());
    }

    #[test]
    fn dropping_the_overlay_leaves_the_namespace_as_it_was() {
        let (live, copy) = live_and_copy();
        let before = live.snapshot();
        run_on(&copy);
        let cow = CowFs::new(Arc::new(live.clone()));
        stage(&cow, None, &copy, &[p("/workspace")], &[]).unwrap();
        assert!(!cow.changes().unwrap().is_empty());
        cow.discard();
        drop(cow);
        assert_eq!(live.snapshot(), before);
    }

    #[test]
    fn an_unchanged_copy_stages_nothing_and_skipped_paths_stay() {
        let (mut live, copy) = live_and_copy();
        // A mount the copy does not have (e.g. a live service) is not deleted.
        live.mount("/workspace/live", Arc::new(MemFs::new()))
            .unwrap();
        live.write_file("/workspace/live/x", b"x").unwrap();
        let cow = CowFs::new(Arc::new(live.clone()));
        stage(
            &cow,
            None,
            &copy,
            &[p("/workspace")],
            &[p("/workspace/live")],
        )
        .unwrap();
        assert_eq!(cow.changes().unwrap(), vec![]);
    }

    #[test]
    fn with_the_starting_copy_only_the_runs_own_changes_are_staged() {
        let (live, copy) = live_and_copy();
        let (before, _) = Namespace::from_snapshot(&copy.snapshot()).unwrap();
        run_on(&copy);
        // Meanwhile, on the page: a new file and an edit the run knows nothing of.
        live.write_file("/workspace/mine.txt", b"mine").unwrap();
        live.write_file("/workspace/keep.txt", b"edited meanwhile\n")
            .unwrap();
        let cow = CowFs::new(Arc::new(live.clone()));
        stage(&cow, Some(&before), &copy, &[p("/workspace")], &[]).unwrap();
        let changed: Vec<String> = cow
            .changes()
            .unwrap()
            .into_iter()
            .map(|c| c.path.to_absolute())
            .collect();
        assert_eq!(
            changed,
            [
                "/workspace/gone",
                "/workspace/edit.txt",
                "/workspace/new",
                "/workspace/new/b.txt"
            ]
        );
        cow.commit().unwrap();
        assert_eq!(live.read_file("/workspace/mine.txt").unwrap(), b"mine");
        assert_eq!(
            live.read_file("/workspace/keep.txt").unwrap(),
            b"edited meanwhile\n"
        );
        assert_eq!(live.read_file("/workspace/edit.txt").unwrap(), b"one\n2\n");
    }

    #[test]
    fn line_diff_marks_added_and_removed_lines() {
        use DiffLine::*;
        let d = line_diff("a\nb\nc\nd\n", "a\nB\nc\nd\ne\n");
        assert_eq!(
            d,
            vec![
                Same("a".into()),
                Removed("b".into()),
                Added("B".into()),
                Same("c".into()),
                Same("d".into()),
                Added("e".into()),
            ]
        );
        assert_eq!(line_diff("", "x"), vec![Added("x".into())]);
        assert_eq!(line_diff("x\n", ""), vec![Removed("x".into())]);
        assert_eq!(line_diff("same", "same"), vec![Same("same".into())]);
    }
}
