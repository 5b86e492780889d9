//! A file's bytes in pages: growing a file appends to its last page or adds pages, so it
//! never copies what the file already holds (a guest writing a 100 MiB file piece by piece
//! would otherwise move it again at every doubling of one big buffer, stalling the thread
//! it runs on — in the browser, the page's).

/// Bytes per page.
pub(crate) const PAGE: usize = 1 << 20;

/// File contents: every page but the last holds exactly [`PAGE`] bytes; the last holds
/// 1..=PAGE (there is no empty page).
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub(crate) struct FileData {
    pages: Vec<Vec<u8>>,
    len: u64,
}

impl FileData {
    /// Contents taken from `v` (a file of at most one page keeps `v`'s buffer).
    pub(crate) fn from_vec(v: Vec<u8>) -> Self {
        let len = v.len() as u64;
        if v.is_empty() {
            return Self::default();
        }
        if v.len() <= PAGE {
            return FileData {
                pages: vec![v],
                len,
            };
        }
        FileData {
            pages: v.chunks(PAGE).map(<[u8]>::to_vec).collect(),
            len,
        }
    }

    /// Length in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The contents as one buffer.
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len as usize);
        for p in &self.pages {
            v.extend_from_slice(p);
        }
        v
    }

    /// Copies bytes from `offset` into `buf`; returns how many (0 at or past the end).
    pub(crate) fn read(&self, buf: &mut [u8], offset: u64) -> usize {
        if offset >= self.len {
            return 0;
        }
        let n = buf.len().min((self.len - offset) as usize);
        let mut done = 0;
        while done < n {
            let at = offset as usize + done;
            let page = &self.pages[at / PAGE];
            let from = at % PAGE;
            let k = (n - done).min(page.len() - from);
            buf[done..done + k].copy_from_slice(&page[from..from + k]);
            done += k;
        }
        n
    }

    /// Writes `buf` at `offset` (within the current length: callers resize first).
    pub(crate) fn write(&mut self, buf: &[u8], offset: u64) {
        debug_assert!(offset + buf.len() as u64 <= self.len);
        let mut done = 0;
        while done < buf.len() {
            let at = offset as usize + done;
            let page = &mut self.pages[at / PAGE];
            let from = at % PAGE;
            let k = (buf.len() - done).min(page.len() - from);
            page[from..from + k].copy_from_slice(&buf[done..done + k]);
            done += k;
        }
    }

    /// Truncates, or extends with zeros, to `new_len` bytes.
    pub(crate) fn resize(&mut self, new_len: u64) {
        let new_len_us = new_len as usize;
        if new_len < self.len {
            let pages = new_len_us.div_ceil(PAGE);
            self.pages.truncate(pages);
            if let Some(last) = self.pages.last_mut() {
                last.truncate(new_len_us - (pages - 1) * PAGE);
            }
        } else {
            let mut missing = (new_len - self.len) as usize;
            while missing > 0 {
                match self.pages.last_mut() {
                    Some(last) if last.len() < PAGE => {
                        let k = missing.min(PAGE - last.len());
                        last.resize(last.len() + k, 0);
                        missing -= k;
                    }
                    _ => {
                        let k = missing.min(PAGE);
                        self.pages.push(vec![0; k]);
                        missing -= k;
                    }
                }
            }
        }
        self.len = new_len;
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Write(u64, Vec<u8>),
        Resize(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Offsets and lengths around page boundaries (PAGE is large: use few big pieces).
        let at = prop_oneof![
            0u64..64,
            (PAGE as u64 - 64)..(PAGE as u64 + 64),
            (2 * PAGE as u64 - 8)..(2 * PAGE as u64 + 8),
        ];
        prop_oneof![
            (at.clone(), proptest::collection::vec(any::<u8>(), 0..200))
                .prop_map(|(o, b)| Op::Write(o, b)),
            at.prop_map(Op::Resize),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Pages behave as one growable buffer (the reference model).
        #[test]
        fn pages_match_a_vec(ops in proptest::collection::vec(op(), 1..12)) {
            let (mut d, mut model) = (FileData::default(), Vec::<u8>::new());
            for op in ops {
                match op {
                    Op::Write(o, b) => {
                        let end = o + b.len() as u64;
                        if end > d.len() {
                            d.resize(end);
                        }
                        if end as usize > model.len() {
                            model.resize(end as usize, 0);
                        }
                        d.write(&b, o);
                        model[o as usize..end as usize].copy_from_slice(&b);
                    }
                    Op::Resize(n) => {
                        d.resize(n);
                        model.resize(n as usize, 0);
                    }
                }
                prop_assert_eq!(d.len(), model.len() as u64);
                prop_assert!(d.pages.iter().all(|p| !p.is_empty()));
                let at = model.len().saturating_sub(100) as u64;
                let mut buf = vec![0u8; 300];
                let n = d.read(&mut buf, at);
                prop_assert_eq!(&buf[..n], &model[at as usize..]);
            }
            prop_assert!(d.to_vec() == model);
            prop_assert!(FileData::from_vec(model.clone()) == d);
        }
    }
}
