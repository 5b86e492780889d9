//! Stream handles for a guest's stdin, stdout and stderr.
//!
//! Any [`FileHandle`] can be a standard stream (a namespace file such as
//! `/logs/stdout.log` opened for append, for instance). These two cover the rest:
//! - [`InputPipe`]: bytes given up front, or fed while the guest runs (a read with no data
//!   yet is `WouldBlock` and wakes the guest through `poll_ready` when data or EOF comes);
//! - [`OutputPipe`]: captures what the guest writes (bounded) and can stream every write to
//!   a sink (a terminal, the explorer's output panel).
//!
//! The two also make a pipe between two guests running at once (a script's `a | b`):
//! [`InputPipe::bounded`] is the reader's stdin and [`OutputPipe::to_pipe`] the writer's
//! stdout. It holds at most its capacity: a writer that fills it waits (its `fd_write`
//! blocks, woken when the reader has read), the reader sees EOF once the writer's side is
//! [closed](InputPipe::close), and a writer whose reader has
//! [hung up](InputPipe::hang_up) gets `EPIPE`.
//!
//! Natively, both can also stand for a host stream: [`InputPipe::from_reader`] reads a host
//! reader (the process's stdin, a file, a FIFO) on demand as the guest asks, and
//! [`OutputPipe::to_writer`] writes to a host writer, reporting its errors (`EPIPE`, `ENOSPC`,
//! `EIO`) to the guest and letting a guest wait, without spinning, on a stalled reader.

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

/// Most wakers a pipe keeps: each waiting task's newest one. A guest polling in a loop (a
/// `poll_oneoff` with a timeout, again and again) leaves behind wakers nobody waits on any
/// more; past this many the oldest goes, so memory stays bounded.
const MAX_WAKERS: usize = 16;

/// Stores `w` to be woken, unless a stored waker already wakes the same task; bounded.
fn remember(wakers: &mut Vec<Waker>, w: &Waker) {
    if wakers.iter().any(|k| k.will_wake(w)) {
        return;
    }
    if wakers.len() >= MAX_WAKERS {
        wakers.remove(0);
    }
    wakers.push(w.clone());
}

#[derive(Default)]
struct PipeState {
    data: VecDeque<u8>,
    closed: bool,
    /// A read error from the host source, reported once, then EOF.
    error: Option<FsError>,
    wakers: Vec<Waker>,
    /// Bytes a blocked reader asked for (0: nobody waits); what a host feeder reads next.
    wanted: usize,
    /// The thread feeding this pipe from a host reader, woken when a reader waits.
    #[cfg(not(target_arch = "wasm32"))]
    feeder: Option<std::thread::Thread>,
    /// Most bytes a guest writer ([`OutputPipe::to_pipe`]) may leave unread (0: no writer
    /// side; [`InputPipe::push`] is never bounded).
    capacity: usize,
    /// The reader is gone ([`InputPipe::hang_up`]): writes fail with `EPIPE`.
    hung_up: bool,
    /// A write was refused with `EPIPE`.
    broken: bool,
    /// Writers waiting for room.
    writer_wakers: Vec<Waker>,
}

/// A readable byte stream; clones share it (keep one to `push` while the guest reads).
///
/// The default is an empty, finished stream (reads see EOF at once).
#[derive(Clone)]
pub struct InputPipe {
    state: Arc<Mutex<PipeState>>,
}

impl Default for InputPipe {
    fn default() -> Self {
        InputPipe::from_bytes(Vec::new())
    }
}

/// Largest read a host feeder makes at once.
#[cfg(not(target_arch = "wasm32"))]
const FEED_CHUNK: usize = 64 << 10;

impl InputPipe {
    /// A finished stream holding `bytes` (EOF after them).
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        let pipe = InputPipe::open();
        pipe.push(&bytes.into());
        pipe.close();
        pipe
    }

    /// An open, empty stream: reads would block until [`Self::push`] or [`Self::close`].
    pub fn open() -> Self {
        InputPipe {
            state: Arc::new(Mutex::new(PipeState::default())),
        }
    }

    /// A stream fed from a host reader (the process's stdin, a file, a FIFO, a device) by a
    /// thread that reads only when the guest waits for data, at most what it asked for
    /// (bounded: an endless source such as `/dev/zero` costs no memory), and sleeps
    /// otherwise (a guest blocked on input costs no CPU). End of the reader is EOF; a read
    /// error reaches the guest once (mapped like every host error), then EOF.
    ///
    /// The thread ends when the reader ends or, once every clone of the pipe is dropped, at
    /// its next wake-up; a thread blocked in the reader's `read` ends with the process.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_reader(reader: impl std::io::Read + Send + 'static) -> std::io::Result<Self> {
        let pipe = InputPipe::open();
        let weak = Arc::downgrade(&pipe.state);
        let thread = std::thread::Builder::new()
            .name("oanix-stdin".into())
            .spawn(move || feed(weak, reader))?;
        pipe.lock().feeder = Some(thread.thread().clone());
        Ok(pipe)
    }

    /// An open, empty pipe between two guests: the reader's stdin, fed by a writer's
    /// [`OutputPipe::to_pipe`], which may leave at most `capacity` bytes (at least 1)
    /// unread before its writes wait. See the module docs.
    pub fn bounded(capacity: usize) -> Self {
        let pipe = InputPipe::open();
        pipe.lock().capacity = capacity.max(1);
        pipe
    }

    /// The reader is gone (it exited): unread bytes are dropped, and every write from now
    /// on fails with `EPIPE` (a waiting writer is woken for it).
    pub fn hang_up(&self) {
        let mut st = self.lock();
        st.hung_up = true;
        st.data = VecDeque::new();
        st.writer_wakers.drain(..).for_each(Waker::wake);
    }

    /// Whether a writer was refused with `EPIPE` (after [`Self::hang_up`]).
    pub fn is_broken(&self) -> bool {
        self.lock().broken
    }

    fn lock(&self) -> MutexGuard<'_, PipeState> {
        crate::service::lock(&self.state)
    }

    /// A guest's write into a bounded pipe: as much as fits, `WouldBlock` when full,
    /// `BrokenPipe` once the reader hung up.
    fn write(&self, buf: &[u8]) -> FsResult<usize> {
        let mut st = self.lock();
        if st.hung_up {
            st.broken = true;
            return Err(FsError::BrokenPipe);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let room = st.capacity.saturating_sub(st.data.len());
        if room == 0 {
            return Err(FsError::WouldBlock);
        }
        let n = room.min(buf.len());
        st.data.extend(&buf[..n]);
        st.wakers.drain(..).for_each(Waker::wake);
        Ok(n)
    }

    /// What a write could put into a bounded pipe now (`None`: not bounded, or the reader is
    /// gone and a write fails at once).
    fn room(&self) -> Option<usize> {
        let st = self.lock();
        (st.capacity > 0 && !st.hung_up).then(|| st.capacity.saturating_sub(st.data.len()))
    }

    /// Ready for a write: room in the pipe, or the reader gone (the write fails at once).
    fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<FsResult<()>> {
        let mut st = self.lock();
        if st.hung_up || st.data.len() < st.capacity {
            Poll::Ready(Ok(()))
        } else {
            remember(&mut st.writer_wakers, cx.waker());
            Poll::Pending
        }
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

/// Notes that a reader waits for `n` bytes and wakes the feeder, if any.
fn want(st: &mut PipeState, n: usize) {
    if st.wanted == 0 {
        st.wanted = n.max(1);
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(t) = &st.feeder {
            t.unpark();
        }
    }
}

/// The feeder thread of [`InputPipe::from_reader`].
#[cfg(not(target_arch = "wasm32"))]
fn feed(pipe: std::sync::Weak<Mutex<PipeState>>, mut reader: impl std::io::Read) {
    let mut buf = vec![0u8; FEED_CHUNK];
    loop {
        // Sleep until a reader waits (or every pipe is gone).
        let n = loop {
            let Some(state) = pipe.upgrade() else { return };
            {
                let mut st = crate::service::lock(&state);
                if st.closed {
                    return;
                }
                if st.wanted > 0 && st.data.is_empty() {
                    break std::mem::take(&mut st.wanted).min(FEED_CHUNK);
                }
            }
            drop(state);
            std::thread::park_timeout(std::time::Duration::from_secs(1));
        };
        let r = reader.read(&mut buf[..n]);
        let Some(state) = pipe.upgrade() else { return };
        let mut st = crate::service::lock(&state);
        match r {
            Ok(0) => st.closed = true,
            Ok(k) => st.data.extend(&buf[..k]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                st.error = Some(FsError::from(e));
                st.closed = true;
            }
        }
        st.wakers.drain(..).for_each(Waker::wake);
        if st.closed {
            return;
        }
    }
}

impl FileHandle for InputPipe {
    /// Streams ignore the offset.
    fn read_at(&self, buf: &mut [u8], _offset: u64) -> FsResult<usize> {
        let mut st = self.lock();
        if st.data.is_empty() {
            if let Some(e) = st.error.take() {
                return Err(e);
            }
            return if st.closed {
                Ok(0)
            } else {
                want(&mut st, buf.len());
                Err(FsError::WouldBlock)
            };
        }
        let n = buf.len().min(st.data.len());
        for (dst, src) in buf.iter_mut().zip(st.data.drain(..n)) {
            *dst = src;
        }
        // Room again for a writer waiting on a full pipe.
        st.writer_wakers.drain(..).for_each(Waker::wake);
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
        if !st.data.is_empty() || st.closed || st.error.is_some() {
            Poll::Ready(Ok(()))
        } else {
            #[cfg(not(target_arch = "wasm32"))]
            want(&mut st, FEED_CHUNK);
            #[cfg(target_arch = "wasm32")]
            want(&mut st, 1);
            remember(&mut st.wakers, cx.waker());
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
    #[cfg(not(target_arch = "wasm32"))]
    host: Option<Arc<host::Writer>>,
    /// The pipe this writes into ([`Self::to_pipe`]).
    pipe: Option<InputPipe>,
    /// The stream every write goes to first ([`Self::forwarding_to`]).
    forward: Option<Box<OutputPipe>>,
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
            #[cfg(not(target_arch = "wasm32"))]
            host: None,
            pipe: None,
            forward: None,
        }
    }

    /// A pipe in front of `target` (a tee): each write goes to `target` first, and what
    /// `target` takes is then captured (up to [`DEFAULT_CAPTURE_CAP`]) and sent to this
    /// pipe's sink. What `target` says is the guest's outcome: a full or busy target makes
    /// the guest's write wait (`WouldBlock`, then readiness from `target`), a short count
    /// is a short write, an error is the write's error (a closed terminal is `EPIPE` for
    /// the guest, as without the tee) — nothing is passed on that `target` did not take.
    /// Give it a target without a sink of its own that logs the same (it would log twice).
    pub fn forwarding_to(target: &OutputPipe) -> Self {
        let mut out = Self::new();
        out.forward = Some(Box::new(target.clone()));
        out
    }

    /// The writing end of a pipe to another guest (see the module docs): each write puts
    /// what fits into `pipe` (a short count when it is nearly full; the guest writes the
    /// rest next), a write into a full pipe waits until the reader has read, and once the
    /// reader [hung up](InputPipe::hang_up) writes fail with `EPIPE`. Nothing is kept.
    pub fn to_pipe(pipe: &InputPipe) -> Self {
        let mut out = Self::with_cap(0);
        out.pipe = Some(pipe.clone());
        out
    }

    /// A stream writing to a host writer (the process's stdout, a file) and keeping
    /// nothing. Each guest write goes to `w` whole (`write_all`, then `flush`) on a writer
    /// thread; the guest gets the real outcome — a closed pipe is `EPIPE`, a full device
    /// `ENOSPC`, any other failure `EIO` — unless the write takes longer than a short grace
    /// period (a reader that does not read): then the guest goes on, its next write waits
    /// (without spinning, so the run's timeout still fires) and a late error is reported on
    /// that next write.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn to_writer(w: impl std::io::Write + Send + 'static) -> std::io::Result<Self> {
        let mut pipe = Self::with_cap(0);
        pipe.host = Some(Arc::new(host::Writer::spawn(Box::new(w))?));
        Ok(pipe)
    }

    /// Blocks until a host writer ([`Self::to_writer`]) has written every byte the guest
    /// wrote, and returns its last error, if one was not reported yet. Call it when the
    /// guest has ended (not after a timeout: the reader may never read).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn finish(&self) -> FsResult<()> {
        if let Some(target) = &self.forward {
            return target.finish();
        }
        match &self.host {
            Some(h) => h.finish(),
            None => Ok(()),
        }
    }

    /// Also sends every write to `sink` as it happens.
    pub fn with_sink(mut self, sink: impl Sink + 'static) -> Self {
        self.sink = Some(Arc::new(sink));
        self
    }

    fn lock(&self) -> MutexGuard<'_, OutputState> {
        crate::service::lock(&self.state)
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
        // A tee: what the target takes, and only that, is kept and passed on.
        let buf = match &self.forward {
            Some(target) => {
                let n = target.write_at(buf, 0)?;
                &buf[..n.min(buf.len())]
            }
            None => buf,
        };
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(h) = &self.host {
            return h.write(buf);
        }
        if let Some(p) = &self.pipe {
            return p.write(buf);
        }
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

    fn write_room(&self) -> Option<usize> {
        match (&self.forward, &self.pipe) {
            (Some(target), _) => target.write_room(),
            (None, Some(p)) => p.room(),
            (None, None) => None,
        }
    }

    fn poll_ready(&self, _interest: Interest, _cx: &mut Context<'_>) -> Poll<FsResult<()>> {
        if let Some(target) = &self.forward {
            return target.poll_ready(_interest, _cx);
        }
        #[cfg(not(target_arch = "wasm32"))]
        if let (Some(h), Interest::Write) = (&self.host, _interest) {
            return h.poll_writable(_cx);
        }
        if let (Some(p), Interest::Write) = (&self.pipe, _interest) {
            return p.poll_writable(_cx);
        }
        Poll::Ready(Ok(()))
    }
}

/// The writer thread behind [`OutputPipe::to_writer`].
#[cfg(not(target_arch = "wasm32"))]
mod host {
    use super::*;
    use std::io::Write;
    use std::sync::Condvar;
    use std::time::Duration;

    /// How long a guest write waits for the host write before going on without its result.
    const GRACE: Duration = Duration::from_millis(20);

    #[derive(Default)]
    struct State {
        /// The bytes to write next (taken by the thread).
        job: Option<Vec<u8>>,
        /// A write is queued or in progress.
        busy: bool,
        /// The result of the last write nobody has collected.
        result: Option<FsResult<()>>,
        /// Every pipe is gone: the thread ends.
        gone: bool,
        wakers: Vec<Waker>,
    }

    struct Shared {
        state: Mutex<State>,
        /// Signalled when a job is queued (thread) or finished (writers).
        cv: Condvar,
    }

    impl Shared {
        fn lock(&self) -> MutexGuard<'_, State> {
            crate::service::lock(&self.state)
        }
    }

    /// Owns the writer thread; dropping the last pipe ends it.
    pub(super) struct Writer {
        shared: Arc<Shared>,
    }

    impl Writer {
        pub(super) fn spawn(mut w: Box<dyn Write + Send>) -> std::io::Result<Self> {
            let shared = Arc::new(Shared {
                state: Mutex::new(State::default()),
                cv: Condvar::new(),
            });
            let s = shared.clone();
            std::thread::Builder::new()
                .name("oanix-stdout".into())
                .spawn(move || loop {
                    let job = {
                        let mut st = s.lock();
                        loop {
                            if let Some(job) = st.job.take() {
                                break job;
                            }
                            if st.gone {
                                return;
                            }
                            st = crate::service::unpoison(s.cv.wait(st));
                        }
                    };
                    let r = w.write_all(&job).and_then(|()| w.flush());
                    let mut st = s.lock();
                    st.result = Some(r.map_err(FsError::from));
                    st.busy = false;
                    st.wakers.drain(..).for_each(Waker::wake);
                    s.cv.notify_all();
                })?;
            Ok(Writer { shared })
        }

        pub(super) fn write(&self, buf: &[u8]) -> FsResult<usize> {
            let mut st = self.shared.lock();
            if st.busy {
                return Err(FsError::WouldBlock);
            }
            // A late failure of the previous write is this write's error.
            if let Some(Err(e)) = st.result.take() {
                return Err(e);
            }
            st.job = Some(buf.to_vec());
            st.busy = true;
            self.shared.cv.notify_all();
            let (mut st, _) =
                crate::service::unpoison(self.shared.cv.wait_timeout_while(st, GRACE, |s| s.busy));
            if st.busy {
                return Ok(buf.len());
            }
            st.result.take().unwrap_or(Ok(())).map(|()| buf.len())
        }

        pub(super) fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<FsResult<()>> {
            let mut st = self.shared.lock();
            if st.busy {
                super::remember(&mut st.wakers, cx.waker());
                Poll::Pending
            } else {
                Poll::Ready(Ok(()))
            }
        }

        pub(super) fn finish(&self) -> FsResult<()> {
            let st = self.shared.lock();
            let mut st = crate::service::unpoison(self.shared.cv.wait_while(st, |s| s.busy));
            st.result.take().unwrap_or(Ok(()))
        }
    }

    impl Drop for Writer {
        fn drop(&mut self) {
            self.shared.lock().gone = true;
            self.shared.cv.notify_all();
        }
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

    #[test]
    fn a_tee_passes_on_only_what_its_target_took() {
        // The target: a bounded pipe with room for 4 bytes.
        let pipe = InputPipe::bounded(4);
        let target = OutputPipe::to_pipe(&pipe);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let tee = OutputPipe::forwarding_to(&target)
            .with_sink(move |d: &[u8]| s.lock().unwrap().extend_from_slice(d));
        assert_eq!(
            tee.write_at(b"hello", 0),
            Ok(4),
            "a short write: the pipe had room for 4"
        );
        assert_eq!(
            tee.write_at(b"o", 0),
            Err(FsError::WouldBlock),
            "full: the guest waits"
        );
        let flag = Arc::new(Flag(Default::default()));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(tee.poll_ready(Interest::Write, &mut cx).is_pending());
        let mut buf = [0u8; 8];
        assert_eq!(pipe.handle().read_at(&mut buf, 0), Ok(4));
        assert!(
            flag.0.load(std::sync::atomic::Ordering::SeqCst),
            "woken once there is room"
        );
        assert_eq!(tee.write_at(b"o", 0), Ok(1));
        assert_eq!(tee.contents(), b"hello");
        assert_eq!(seen.lock().unwrap().as_slice(), b"hello");
        pipe.hang_up();
        assert_eq!(tee.write_at(b"!", 0), Err(FsError::BrokenPipe));
        assert_eq!(
            tee.contents(),
            b"hello",
            "nothing kept that the target refused"
        );
    }

    /// A host writer slower than the grace period: before the tee forwarded, the second
    /// write was passed on while the first was still being written — and lost.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn a_tee_in_front_of_a_slow_host_writer_loses_nothing() {
        struct Slow(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Slow {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                std::thread::sleep(std::time::Duration::from_millis(60));
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let got = Arc::new(Mutex::new(Vec::new()));
        let target = OutputPipe::to_writer(Slow(got.clone())).unwrap();
        let tee = OutputPipe::forwarding_to(&target);
        let flag = Arc::new(Flag(Default::default()));
        let waker = Waker::from(flag);
        let mut cx = Context::from_waker(&waker);
        for line in [&b"one\n"[..], b"two\n", b"three\n"] {
            // As the shim does: a write that would block waits for readiness, then retries.
            loop {
                match tee.write_at(line, 0) {
                    Err(FsError::WouldBlock) => {
                        while tee.poll_ready(Interest::Write, &mut cx).is_pending() {
                            std::thread::sleep(std::time::Duration::from_millis(5));
                        }
                    }
                    r => {
                        assert_eq!(r, Ok(line.len()));
                        break;
                    }
                }
            }
        }
        target.finish().unwrap();
        assert_eq!(got.lock().unwrap().as_slice(), b"one\ntwo\nthree\n");
        assert_eq!(tee.contents(), b"one\ntwo\nthree\n");
    }

    #[test]
    fn polling_in_a_loop_keeps_memory_bounded() {
        struct Noop;
        impl Wake for Noop {
            fn wake(self: Arc<Self>) {}
        }
        let pipe = InputPipe::open();
        let h = pipe.handle();
        // The same task polling again and again: one waker kept.
        let same = Waker::from(Arc::new(Noop));
        for _ in 0..10_000 {
            let mut cx = Context::from_waker(&same);
            assert!(h.poll_ready(Interest::Read, &mut cx).is_pending());
        }
        assert_eq!(pipe.lock().wakers.len(), 1);
        // A new waker each time (a host making one per call): bounded all the same.
        for _ in 0..10_000 {
            let w = Waker::from(Arc::new(Noop));
            let mut cx = Context::from_waker(&w);
            assert!(h.poll_ready(Interest::Read, &mut cx).is_pending());
        }
        assert!(pipe.lock().wakers.len() <= MAX_WAKERS);
    }

    #[test]
    fn bounded_pipe_fills_waits_drains_and_breaks() {
        let pipe = InputPipe::bounded(4);
        let (r, w) = (pipe.handle(), OutputPipe::to_pipe(&pipe).handle());
        let flag = Arc::new(Flag(Default::default()));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(w.poll_ready(Interest::Write, &mut cx).is_ready());
        // What fits is taken (a short count); then the writer waits for the reader.
        assert_eq!(w.write_at(b"abcdef", 0), Ok(4));
        assert_eq!(w.write_at(b"ef", 0), Err(FsError::WouldBlock));
        assert!(w.poll_ready(Interest::Write, &mut cx).is_pending());
        let mut buf = [0u8; 3];
        assert_eq!(r.read_at(&mut buf, 0), Ok(3));
        assert_eq!(&buf, b"abc");
        assert!(
            flag.0.load(std::sync::atomic::Ordering::SeqCst),
            "writer woken"
        );
        assert_eq!(w.write_at(b"ef", 0), Ok(2));
        assert_eq!(w.write_at(b"", 0), Ok(0));
        // The writer ends: the reader gets the rest, then EOF.
        pipe.close();
        assert_eq!(r.read_at(&mut buf, 0), Ok(3));
        assert_eq!(&buf, b"def");
        assert_eq!(r.read_at(&mut buf, 0), Ok(0));
        // The reader ends: a waiting writer is woken, and writes fail with EPIPE.
        let pipe = InputPipe::bounded(1);
        let w = OutputPipe::to_pipe(&pipe).handle();
        assert_eq!(w.write_at(b"x", 0), Ok(1));
        flag.0.store(false, std::sync::atomic::Ordering::SeqCst);
        assert!(w.poll_ready(Interest::Write, &mut cx).is_pending());
        assert!(!pipe.is_broken());
        pipe.hang_up();
        assert!(
            flag.0.load(std::sync::atomic::Ordering::SeqCst),
            "writer woken"
        );
        assert!(w.poll_ready(Interest::Write, &mut cx).is_ready());
        assert_eq!(w.write_at(b"y", 0), Err(FsError::BrokenPipe));
        assert!(pipe.is_broken());
    }

    #[test]
    fn default_input_is_at_end_of_file() {
        let mut buf = [0u8; 4];
        assert_eq!(InputPipe::default().handle().read_at(&mut buf, 0), Ok(0));
    }

    /// Host streams (threads and `std::io`): native only.
    #[cfg(not(target_arch = "wasm32"))]
    mod host {
        use super::*;

        /// A reader that counts its reads and hands out what its channel gives.
        struct ChanReader {
            rx: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
            reads: Arc<std::sync::atomic::AtomicUsize>,
        }
        impl std::io::Read for ChanReader {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                match self.rx.recv() {
                    Ok(Ok(d)) => {
                        buf[..d.len()].copy_from_slice(&d);
                        Ok(d.len())
                    }
                    Ok(Err(e)) => Err(e),
                    Err(_) => Ok(0),
                }
            }
        }

        /// Waits until `h` is readable (the feeder thread's wake-up sets the flag).
        fn wait_readable(h: &dyn FileHandle) {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            struct Tx(Mutex<std::sync::mpsc::Sender<()>>);
            impl Wake for Tx {
                fn wake(self: Arc<Self>) {
                    let _ = self.0.lock().unwrap().send(());
                }
            }
            let waker = Waker::from(Arc::new(Tx(Mutex::new(tx))));
            let mut cx = Context::from_waker(&waker);
            while h.poll_ready(Interest::Read, &mut cx).is_pending() {
                rx.recv().unwrap();
            }
        }

        #[test]
        fn reader_fed_pipe_reads_on_demand_and_reports_errors() {
            let (tx, rx) = std::sync::mpsc::channel();
            let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let pipe = InputPipe::from_reader(ChanReader {
                rx,
                reads: reads.clone(),
            })
            .unwrap();
            let h = pipe.handle();
            let mut buf = [0u8; 8];
            tx.send(Ok(b"ab".to_vec())).unwrap();
            // Nothing is read before a reader asks.
            assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 0);
            assert_eq!(h.read_at(&mut buf, 0), Err(FsError::WouldBlock));
            wait_readable(h.as_ref());
            assert_eq!(h.read_at(&mut buf, 0), Ok(2));
            assert_eq!(&buf[..2], b"ab");
            tx.send(Err(std::io::Error::from_raw_os_error(5))).unwrap();
            wait_readable(h.as_ref());
            assert!(matches!(h.read_at(&mut buf, 0), Err(FsError::Io(_))));
            assert_eq!(h.read_at(&mut buf, 0), Ok(0));
        }

        /// A writer that fails as told.
        struct Failing(std::io::ErrorKind, Option<i32>);
        impl std::io::Write for Failing {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(match self.1 {
                    Some(errno) => std::io::Error::from_raw_os_error(errno),
                    None => self.0.into(),
                })
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        #[test]
        fn writer_errors_reach_the_writer_as_their_errno() {
            let full = OutputPipe::to_writer(Failing(std::io::ErrorKind::Other, Some(28))).unwrap();
            assert_eq!(full.write_at(b"x", 0), Err(FsError::NoSpace));
            let closed =
                OutputPipe::to_writer(Failing(std::io::ErrorKind::BrokenPipe, None)).unwrap();
            assert_eq!(closed.write_at(b"x", 0), Err(FsError::BrokenPipe));
            let other = OutputPipe::to_writer(Failing(std::io::ErrorKind::Other, None)).unwrap();
            assert!(matches!(other.write_at(b"x", 0), Err(FsError::Io(_))));
            let shared = Arc::new(Mutex::new(Vec::new()));
            struct Shared(Arc<Mutex<Vec<u8>>>);
            impl std::io::Write for Shared {
                fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                    self.0.lock().unwrap().extend_from_slice(b);
                    Ok(b.len())
                }
                fn flush(&mut self) -> std::io::Result<()> {
                    Ok(())
                }
            }
            let ok = OutputPipe::to_writer(Shared(shared.clone())).unwrap();
            assert_eq!(ok.write_at(b"hello", 0), Ok(5));
            assert_eq!(ok.finish(), Ok(()));
            assert_eq!(shared.lock().unwrap().as_slice(), b"hello");
        }
    }
}
