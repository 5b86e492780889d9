//! Path normalisation: the one place where raw path strings become [`FsPath`]s.
//!
//! Services never see a raw string. [`FsPath::parse`] removes `.` and empty components
//! (repeated or trailing `/`), resolves `..` lexically and clamps it at the root, and rejects
//! NUL bytes and over-long names. The result is a clean, relative list of components.

use crate::error::{FsError, FsResult};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest single path component, in bytes.
pub const MAX_NAME_LEN: usize = 255;
/// Longest whole path, in bytes.
pub const MAX_PATH_LEN: usize = 4096;

/// A normalised path relative to a service's (or the namespace's) root.
///
/// Stored as components joined by `/`, with no leading or trailing `/`; the root is `""`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FsPath(String);

impl FsPath {
    /// The root of a service or namespace.
    pub fn root() -> Self {
        FsPath(String::new())
    }

    /// Normalises a raw path (absolute or relative; both are taken from the root).
    pub fn parse(raw: &str) -> FsResult<Self> {
        if raw.len() > MAX_PATH_LEN {
            return Err(FsError::NameTooLong);
        }
        if raw.contains('\0') {
            return Err(FsError::InvalidPath("path contains a NUL byte".into()));
        }
        let mut parts: Vec<&str> = Vec::new();
        for comp in raw.split('/') {
            match comp {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                name if name.len() > MAX_NAME_LEN => return Err(FsError::NameTooLong),
                name => parts.push(name),
            }
        }
        Ok(FsPath(parts.join("/")))
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The normalised path as a relative string (`""` for the root).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path as an absolute string (`/` for the root).
    pub fn to_absolute(&self) -> String {
        format!("/{}", self.0)
    }

    /// The components, outermost first.
    pub fn components(&self) -> impl DoubleEndedIterator<Item = &str> + Clone {
        self.0.split('/').filter(|c| !c.is_empty())
    }

    /// Number of components (0 for the root).
    pub fn depth(&self) -> usize {
        if self.0.is_empty() {
            0
        } else {
            self.0.bytes().filter(|b| *b == b'/').count() + 1
        }
    }

    /// The last component, or `None` for the root.
    pub fn file_name(&self) -> Option<&str> {
        if self.0.is_empty() {
            None
        } else {
            Some(self.0.rsplit('/').next().unwrap_or(&self.0))
        }
    }

    /// The parent directory, or `None` for the root.
    pub fn parent(&self) -> Option<FsPath> {
        if self.0.is_empty() {
            return None;
        }
        Some(match self.0.rfind('/') {
            Some(i) => FsPath(self.0[..i].to_string()),
            None => FsPath::root(),
        })
    }

    /// Splits into parent and last component; `None` for the root.
    pub fn split_last(&self) -> Option<(FsPath, &str)> {
        let name = self.file_name()?;
        Some((self.parent().unwrap_or_default(), name))
    }

    /// Appends one already-valid name (no `/`, not `.` or `..`).
    pub fn join_name(&self, name: &str) -> FsPath {
        debug_assert!(!name.contains('/') && name != "." && name != ".." && !name.is_empty());
        if self.0.is_empty() {
            FsPath(name.to_string())
        } else {
            FsPath(format!("{}/{}", self.0, name))
        }
    }

    /// Appends another normalised path.
    pub fn join(&self, rest: &FsPath) -> FsPath {
        match (self.0.is_empty(), rest.0.is_empty()) {
            (true, _) => rest.clone(),
            (_, true) => self.clone(),
            _ => FsPath(format!("{}/{}", self.0, rest.0)),
        }
    }

    /// Whether `prefix` is this path or one of its ancestors (at a component boundary).
    pub fn starts_with(&self, prefix: &FsPath) -> bool {
        self.strip_prefix(prefix).is_some()
    }

    /// The rest of this path below `prefix`, if `prefix` is an ancestor-or-self.
    pub fn strip_prefix(&self, prefix: &FsPath) -> Option<FsPath> {
        if prefix.0.is_empty() {
            return Some(self.clone());
        }
        let rest = self.0.strip_prefix(prefix.0.as_str())?;
        if rest.is_empty() {
            Some(FsPath::root())
        } else {
            rest.strip_prefix('/').map(|r| FsPath(r.to_string()))
        }
    }

    /// Every ancestor from the root down to the parent (root first).
    pub fn ancestors(&self) -> Vec<FsPath> {
        let mut out = vec![FsPath::root()];
        let mut idx = 0;
        while let Some(pos) = self.0[idx..].find('/') {
            out.push(FsPath(self.0[..idx + pos].to_string()));
            idx += pos + 1;
        }
        if self.is_root() {
            out.clear();
        }
        out
    }

    /// Byte offsets where each prefix ends: the root (0), then after each component.
    pub(crate) fn prefix_ends(&self) -> Vec<usize> {
        let mut ends = vec![0];
        for (i, b) in self.0.bytes().enumerate() {
            if b == b'/' {
                ends.push(i);
            }
        }
        if !self.0.is_empty() {
            ends.push(self.0.len());
        }
        ends
    }

    /// The prefix of the first `end` bytes (an index from `prefix_ends`).
    pub(crate) fn prefix_str(&self, end: usize) -> &str {
        &self.0[..end]
    }

    /// The rest after the prefix of `end` bytes (an index from `prefix_ends`).
    pub(crate) fn suffix_after(&self, end: usize) -> FsPath {
        let rest = &self.0[end..];
        FsPath(rest.strip_prefix('/').unwrap_or(rest).to_string())
    }
}

impl TryFrom<String> for FsPath {
    type Error = FsError;
    fn try_from(s: String) -> FsResult<Self> {
        FsPath::parse(&s)
    }
}

impl From<FsPath> for String {
    fn from(p: FsPath) -> String {
        p.0
    }
}

impl fmt::Debug for FsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FsPath({:?})", self.to_absolute())
    }
}

impl fmt::Display for FsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_absolute())
    }
}

/// Checks that `name` is a single valid directory-entry name.
pub fn validate_name(name: &str) -> FsResult<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(FsError::InvalidPath(format!("{name:?} is not a file name")));
    }
    if name.contains('\0') {
        return Err(FsError::InvalidPath("name contains a NUL byte".into()));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(FsError::NameTooLong);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        FsPath::parse(s).unwrap().as_str().to_string()
    }

    #[test]
    fn normalises_dots_slashes_and_clamps_dotdot() {
        assert_eq!(p("/"), "");
        assert_eq!(p(""), "");
        assert_eq!(p("//a///b/"), "a/b");
        assert_eq!(p("./a/./b/."), "a/b");
        assert_eq!(p("/a/b/../c"), "a/c");
        assert_eq!(p("/../../x"), "x");
        assert_eq!(p("a/.."), "");
        assert_eq!(p("a/../../.."), "");
        assert_eq!(p("..."), "...");
    }

    #[test]
    fn rejects_nul_and_long_names() {
        assert!(matches!(
            FsPath::parse("a\0b"),
            Err(FsError::InvalidPath(_))
        ));
        let long = "x".repeat(MAX_NAME_LEN + 1);
        assert_eq!(FsPath::parse(&long), Err(FsError::NameTooLong));
        assert_eq!(FsPath::parse(&"a/".repeat(3000)), Err(FsError::NameTooLong));
    }

    #[test]
    fn prefix_is_component_aligned() {
        let task = FsPath::parse("/task").unwrap();
        assert!(FsPath::parse("/task/spec.json").unwrap().starts_with(&task));
        assert!(FsPath::parse("/task").unwrap().starts_with(&task));
        assert!(!FsPath::parse("/taskx").unwrap().starts_with(&task));
        assert_eq!(
            FsPath::parse("/task/a/b")
                .unwrap()
                .strip_prefix(&task)
                .unwrap()
                .as_str(),
            "a/b"
        );
    }

    #[test]
    fn parent_name_depth_and_ancestors() {
        let x = FsPath::parse("/a/b/c").unwrap();
        assert_eq!(x.file_name(), Some("c"));
        assert_eq!(x.parent().unwrap().as_str(), "a/b");
        assert_eq!(x.depth(), 3);
        assert_eq!(FsPath::root().depth(), 0);
        let anc: Vec<String> = x
            .ancestors()
            .iter()
            .map(|a| a.as_str().to_string())
            .collect();
        assert_eq!(anc, vec!["", "a", "a/b"]);
        assert_eq!(x.prefix_ends(), vec![0, 1, 3, 5]);
        assert_eq!(x.suffix_after(1).as_str(), "b/c");
        assert_eq!(x.suffix_after(0).as_str(), "a/b/c");
        assert_eq!(x.suffix_after(5).as_str(), "");
    }
}
