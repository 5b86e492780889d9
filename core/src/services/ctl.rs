//! What the capability services' control files share (`/cap/http/request`,
//! `/cap/ws/control`, `/cap/nostr/submit` and `config.json`): a JSON document is written
//! to the file, possibly across several writes ([`JsonInput`]); the files are streams
//! ([`stream_meta`]) read from a cursor ([`serve`]); they differ only in how they read,
//! write and wait ([`WritableStream`] and [`ReadableStream`], made handles by
//! [`WriteStream`] and [`ReadStream`]); and a command file answers each command with one
//! JSON line read back on the same fd ([`CommandHandle`]).

use super::file_meta;
use crate::error::{FsError, FsResult};
use crate::service::{
    lock, read_at_bytes, FileHandle, FileKind, Interest, MaybeSendSync, Metadata, OpenOptions,
};
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::sync::Mutex;
use std::task::{Context, Poll};

/// Accumulates the bytes of JSON commands written to a file: `Ok(None)` while the document
/// is unfinished, `Ok(Some(doc))` once complete, `EINVAL` on a syntax or type error (the
/// buffer is then dropped), `EFBIG` past `max`.
pub(crate) struct JsonInput {
    buf: Vec<u8>,
    max: usize,
}

impl JsonInput {
    pub(crate) fn new(max: usize) -> Self {
        JsonInput {
            buf: Vec::new(),
            max,
        }
    }

    pub(crate) fn push<T: DeserializeOwned>(&mut self, data: &[u8]) -> FsResult<Option<T>> {
        if self.buf.len() + data.len() > self.max {
            self.buf.clear();
            return Err(FsError::FileTooLarge);
        }
        self.buf.extend_from_slice(data);
        if self.buf.iter().all(u8::is_ascii_whitespace) {
            self.buf.clear();
            return Ok(None);
        }
        match serde_json::from_slice::<T>(&self.buf) {
            Ok(doc) => {
                self.buf.clear();
                Ok(Some(doc))
            }
            Err(e) if e.is_eof() => Ok(None),
            Err(e) => {
                self.buf.clear();
                Err(FsError::InvalidInput(format!("bad JSON: {e}")))
            }
        }
    }

    /// Whether part of a document is waiting for the rest.
    pub(crate) fn is_partial(&self) -> bool {
        !self.buf.is_empty()
    }
}

/// The node of a capability service that `open` with `opts` gets from `find`: every name
/// such a service has already exists and it makes no new ones, so `O_EXCL` is `EEXIST`
/// (before any lookup) and creating a name it does not have is `EROFS`.
pub(crate) fn node_to_open<N>(
    opts: &OpenOptions,
    find: impl FnOnce() -> FsResult<N>,
) -> FsResult<N> {
    if opts.create_new {
        return Err(FsError::AlreadyExists);
    }
    match find() {
        Err(FsError::NotFound) if opts.create => Err(FsError::ReadOnly),
        n => n,
    }
}

/// Metadata of a stream file (size 0, not seekable) with inode `ino`.
pub(crate) fn stream_meta(ino: u64, readonly: bool) -> Metadata {
    Metadata {
        kind: FileKind::Stream,
        ..file_meta(ino, 0, 0, readonly)
    }
}

/// Copies `bytes` from the cursor `pos` into `buf` and moves the cursor: a stream's read of
/// a reply it holds.
pub(crate) fn serve(bytes: &[u8], pos: &mut usize, buf: &mut [u8]) -> usize {
    let n = read_at_bytes(bytes, buf, *pos as u64);
    *pos += n;
    n
}

/// `v` as one line of JSON (a reply, a response).
pub(crate) fn json_line(v: &impl serde::Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(v).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// A command file: each JSON document of type `T` written to it is run by `run`, and its
/// answer is what reads from the same fd return (one JSON line, the last command's). A
/// read before any command is `EINVAL`; an error of `run` fails the write. Opened as
/// `WriteStream(CommandHandle::new(..))`.
pub(crate) struct CommandHandle<T, F> {
    input: Mutex<JsonInput>,
    reply: Mutex<Option<(Vec<u8>, usize)>>,
    ino: u64,
    /// What a command is called in the error of a read before one ("job request").
    what: &'static str,
    run: F,
    doc: PhantomData<fn() -> T>,
}

impl<T, F> CommandHandle<T, F>
where
    T: DeserializeOwned,
    F: Fn(T) -> FsResult<serde_json::Value>,
{
    /// A command file of inode `ino` taking documents up to `max` bytes.
    pub(crate) fn new(max: usize, ino: u64, what: &'static str, run: F) -> Self {
        CommandHandle {
            input: Mutex::new(JsonInput::new(max)),
            reply: Mutex::new(None),
            ino,
            what,
            run,
            doc: PhantomData,
        }
    }
}

impl<T, F> WritableStream for CommandHandle<T, F>
where
    T: DeserializeOwned,
    F: Fn(T) -> FsResult<serde_json::Value> + MaybeSendSync,
{
    fn ino(&self) -> u64 {
        self.ino
    }

    fn read(&self, buf: &mut [u8]) -> FsResult<usize> {
        let mut reply = lock(&self.reply);
        let Some((bytes, pos)) = reply.as_mut() else {
            return Err(FsError::InvalidInput(format!(
                "no {} written on this fd",
                self.what
            )));
        };
        Ok(serve(bytes, pos, buf))
    }

    fn write(&self, buf: &[u8]) -> FsResult<usize> {
        let doc = lock(&self.input).push::<T>(buf)?;
        if let Some(doc) = doc {
            let answer = (self.run)(doc)?;
            *lock(&self.reply) = Some((json_line(&answer), 0));
        }
        Ok(buf.len())
    }
}

/// A writable stream file (`/cap/http/request`, `/cap/ws/conns/<id>/out`, the command
/// files): what makes it itself. [`WriteStream`] turns it into a [`FileHandle`] with what every
/// such file has alike: offsets mean nothing (not seekable), `append` is a write, `set_len`
/// does nothing (so opening with `O_TRUNC` works), and its metadata is [`stream_meta`].
pub(crate) trait WritableStream: MaybeSendSync {
    /// Its inode number (in [`FileHandle::metadata`]).
    fn ino(&self) -> u64;

    /// Writes `buf`.
    fn write(&self, buf: &[u8]) -> FsResult<usize>;

    /// Reads into `buf`; by default the file cannot be read (`EBADF`).
    fn read(&self, _buf: &mut [u8]) -> FsResult<usize> {
        Err(FsError::BadHandle)
    }

    /// Readiness for `interest`; by default always ready.
    fn poll_ready(&self, _interest: Interest, _cx: &mut Context<'_>) -> Poll<FsResult<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The [`FileHandle`] of a [`WritableStream`].
pub(crate) struct WriteStream<S>(pub(crate) S);

impl<S: WritableStream> FileHandle for WriteStream<S> {
    fn read_at(&self, buf: &mut [u8], _offset: u64) -> FsResult<usize> {
        self.0.read(buf)
    }

    fn write_at(&self, buf: &[u8], _offset: u64) -> FsResult<usize> {
        self.0.write(buf)
    }

    fn append(&self, buf: &[u8]) -> FsResult<u64> {
        self.0.write(buf).map(|n| n as u64)
    }

    fn set_len(&self, _len: u64) -> FsResult<()> {
        Ok(())
    }

    fn metadata(&self) -> FsResult<Metadata> {
        Ok(stream_meta(self.0.ino(), false))
    }

    fn is_seekable(&self) -> bool {
        false
    }

    fn poll_ready(&self, interest: Interest, cx: &mut Context<'_>) -> Poll<FsResult<()>> {
        self.0.poll_ready(interest, cx)
    }
}

/// A read-only stream file (`/cap/http/response`, `/cap/ws/conns/<id>/in`,
/// `/cap/nostr/results/<id>`): what makes it itself. [`ReadStream`] turns it into a
/// [`FileHandle`] with what every such file has alike: not seekable, not writable (waiting
/// to write is `EBADF`), its metadata [`stream_meta`] read-only.
pub(crate) trait ReadableStream: MaybeSendSync {
    /// Its inode number (in [`FileHandle::metadata`]).
    fn ino(&self) -> u64;

    /// Reads into `buf`.
    fn read(&self, buf: &mut [u8]) -> FsResult<usize>;

    /// Ready when a read would not give `EAGAIN`.
    fn poll_read(&self, cx: &mut Context<'_>) -> Poll<FsResult<()>>;
}

/// The [`FileHandle`] of a [`ReadableStream`].
pub(crate) struct ReadStream<S>(pub(crate) S);

impl<S: ReadableStream> FileHandle for ReadStream<S> {
    fn read_at(&self, buf: &mut [u8], _offset: u64) -> FsResult<usize> {
        self.0.read(buf)
    }

    fn metadata(&self) -> FsResult<Metadata> {
        Ok(stream_meta(self.0.ino(), true))
    }

    fn is_seekable(&self) -> bool {
        false
    }

    fn poll_ready(&self, interest: Interest, cx: &mut Context<'_>) -> Poll<FsResult<()>> {
        if interest == Interest::Write {
            return Poll::Ready(Err(FsError::BadHandle));
        }
        self.0.poll_read(cx)
    }
}
