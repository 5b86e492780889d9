//! Stream handles for a guest's stdin, stdout and stderr.
//!
//! Any [`FileHandle`] can be a standard stream (a namespace file such as
//! `/logs/stdout.log` opened for append, for instance). These two cover the rest:
//! - [`InputPipe`]: bytes given up front, or fed while the guest runs (a read with no data
//!   yet is `WouldBlock` and wakes the guest through `poll_ready` when data or EOF comes);
//! - [`OutputPipe`]: captures what the guest writes (bounded) and can stream every write to
//!   a sink (a terminal, the explorer's output panel).

use crate::error::{FsError, FsResult};
use crate::service::{FileHandle, FileKind, Interest, MaybeSendSync, Metadata};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

fn stream_meta(size: u64) -> Metadata {
    Metadata {
        kind: FileKind::Stream,
        size,
        ino: 0,
        nlink: 1,
        atime: 0,
        mtime: 0,
        ctime: 0,
        readonly: false,
    }
}

#[derive(Default)]
struct PipeState {
    data: VecDeque<u8>,
    closed: bool,
    wakers: Vec<Waker>,
}

/// A readable byte stream; clones share it (keep one to `push` while the guest reads).
#[derive(Clone, Default)]
pub struct InputPipe {
    state: Arc<Mutex<PipeState>>,
}

impl InputPipe {
    /// A finished stream holding `bytes` (EOF after them).
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        let pipe = InputPipe::default();
        pipe.push(&bytes.into());
        pipe.close();
        pipe
    }

    /// An open, empty stream: reads would block until [`Self::push`] or [`Self::close`].
    pub fn open() -> Self {
        InputPipe::default()
    }

    fn lock(&self) -> MutexGuard<'_, PipeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends bytes and wakes a waiting reader.
    pub fn push(&self, bytes: &[u8]) {
        let mut st = self.lock();
        st.data.extend(bytes);
        st.wakers.drain(..).for_each(Waker::wake);
    }

    /// Ends the stream (readers then see EOF) and wakes a waiting reader.
    pub fn close(&self) {
        let mut st = self.lock();
        st.closed = true;
        st.wakers.drain(..).for_each(Waker::wake);
    }

    /// A handle reading from this stream.
    pub fn handle(&self) -> Arc<dyn FileHandle> {
        Arc::new(self.clone())
    }
}

impl FileHandle for InputPipe {
    /// Streams ignore the offset.
    fn read_at(&self, buf: &mut [u8], _offset: u64) -> FsResult<usize> {
        let mut st = self.lock();
        if st.data.is_empty() {
            return if st.closed {
                Ok(0)
            } else {
                Err(FsError::WouldBlock)
            };
        }
        let n = buf.len().min(st.data.len());
        for (dst, src) in buf.iter_mut().zip(st.data.drain(..n)) {
            *dst = src;
        }
        Ok(n)
    }

    fn metadata(&self) -> FsResult<Metadata> {
        Ok(stream_meta(self.lock().data.len() as u64))
    }

    fn is_seekable(&self) -> bool {
        false
    }

    fn poll_ready(&self, interest: Interest, cx: &mut Context<'_>) -> Poll<FsResult<()>> {
        if interest == Interest::Write {
            return Poll::Ready(Err(FsError::BadHandle));
        }
        let mut st = self.lock();
        if !st.data.is_empty() || st.closed {
            Poll::Ready(Ok(()))
        } else {
            st.wakers.push(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// Called with each chunk a guest writes to a stream.
pub trait Sink: MaybeSendSync {
    /// Receives one write.
    fn write(&self, data: &[u8]);
}
impl<F: Fn(&[u8]) + MaybeSendSync> Sink for F {
    fn write(&self, data: &[u8]) {
        self(data)
    }
}

struct OutputState {
    buf: Vec<u8>,
    dropped: u64,
}

/// Captures a guest's output (up to a cap) and optionally streams it to a [`Sink`].
#[derive(Clone)]
pub struct OutputPipe {
    state: Arc<Mutex<OutputState>>,
    sink: Option<Arc<dyn Sink>>,
    cap: usize,
}

/// Default capture cap: 64 MiB; bytes past it are counted, streamed, but not kept.
pub const DEFAULT_CAPTURE_CAP: usize = 64 << 20;

impl Default for OutputPipe {
    fn default() -> Self {
        Self::new()
    }
}

impl OutputPipe {
    /// Captures up to [`DEFAULT_CAPTURE_CAP`] bytes.
    pub fn new() -> Self {
        Self::with_cap(DEFAULT_CAPTURE_CAP)
    }

    /// Captures up to `cap` bytes.
    pub fn with_cap(cap: usize) -> Self {
        OutputPipe {
            state: Arc::new(Mutex::new(OutputState {
                buf: Vec::new(),
                dropped: 0,
            })),
            sink: None,
            cap,
        }
    }

    /// Also sends every write to `sink` as it happens.
    pub fn with_sink(mut self, sink: impl Sink + 'static) -> Self {
        self.sink = Some(Arc::new(sink));
        self
    }

    fn lock(&self) -> MutexGuard<'_, OutputState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The bytes captured so far.
    pub fn contents(&self) -> Vec<u8> {
        self.lock().buf.clone()
    }

    /// Bytes written past the cap (streamed but not kept).
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// A handle writing into this pipe.
    pub fn handle(&self) -> Arc<dyn FileHandle> {
        Arc::new(self.clone())
    }
}

impl FileHandle for OutputPipe {
    /// Streams ignore the offset.
    fn write_at(&self, buf: &[u8], _offset: u64) -> FsResult<usize> {
        {
            let mut st = self.lock();
            let room = self.cap.saturating_sub(st.buf.len());
            let keep = room.min(buf.len());
            st.buf.extend_from_slice(&buf[..keep]);
            st.dropped += (buf.len() - keep) as u64;
        }
        if let Some(sink) = &self.sink {
            sink.write(buf);
        }
        Ok(buf.len())
    }

    fn append(&self, buf: &[u8]) -> FsResult<u64> {
        self.write_at(buf, 0).map(|n| n as u64)
    }

    fn metadata(&self) -> FsResult<Metadata> {
        Ok(stream_meta(0))
    }

    fn is_seekable(&self) -> bool {
        false
    }
}

/// A stream that is always at end of file (the default stdin).
pub struct NullInput;

impl FileHandle for NullInput {
    fn read_at(&self, _buf: &mut [u8], _offset: u64) -> FsResult<usize> {
        Ok(0)
    }
    fn metadata(&self) -> FsResult<Metadata> {
        Ok(stream_meta(0))
    }
    fn is_seekable(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Wake;

    struct Flag(std::sync::atomic::AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn input_pipe_blocks_then_wakes_on_push_and_close() {
        let pipe = InputPipe::open();
        let h = pipe.handle();
        let mut buf = [0u8; 8];
        assert_eq!(h.read_at(&mut buf, 0), Err(FsError::WouldBlock));
        let flag = Arc::new(Flag(Default::default()));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(h.poll_ready(Interest::Read, &mut cx).is_pending());
        pipe.push(b"hi");
        assert!(flag.0.load(std::sync::atomic::Ordering::SeqCst));
        assert!(h.poll_ready(Interest::Read, &mut cx).is_ready());
        assert_eq!(h.read_at(&mut buf, 0), Ok(2));
        pipe.close();
        assert_eq!(h.read_at(&mut buf, 0), Ok(0));
    }

    #[test]
    fn output_pipe_caps_capture_but_streams_everything() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let out = OutputPipe::with_cap(4).with_sink(move |d: &[u8]| {
            s.lock().unwrap().extend_from_slice(d);
        });
        out.write_at(b"hello", 0).unwrap();
        assert_eq!(out.contents(), b"hell");
        assert_eq!(out.dropped(), 1);
        assert_eq!(seen.lock().unwrap().as_slice(), b"hello");
    }
}
