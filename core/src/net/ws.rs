//! One WebSocket as a shared object between its consumers (WsFs, or any service) and the
//! transport task driving the real socket.
//!
//! Consumer side: [`WsSocket::try_send`] / [`WsSocket::poll_send`],
//! [`WsSocket::try_recv`] / [`WsSocket::poll_recv`] (or the `send`/`recv` futures),
//! [`WsSocket::close`], [`WsSocket::state`]. Driver side: [`WsSocket::set_open`],
//! [`WsSocket::push_inbound`] / [`WsSocket::poll_inbound_space`],
//! [`WsSocket::poll_outbound`], [`WsSocket::set_closing`], [`WsSocket::set_closed`].
//! Both queues are bounded.

use crate::error::{FsError, FsResult};
use serde::Serialize;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// One WebSocket message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsMessage {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
}

impl WsMessage {
    /// Text if `bytes` are valid UTF-8, else binary (the rule of `conns/<id>/out`).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        match std::str::from_utf8(bytes) {
            Ok(s) => WsMessage::Text(s.to_string()),
            Err(_) => WsMessage::Binary(bytes.to_vec()),
        }
    }

    /// The payload.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            WsMessage::Text(s) => s.as_bytes(),
            WsMessage::Binary(b) => b,
        }
    }

    /// The payload, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            WsMessage::Text(s) => s.into_bytes(),
            WsMessage::Binary(b) => b,
        }
    }
}

/// Life of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WsState {
    /// Handshake under way.
    Connecting,
    /// Messages flow both ways.
    Open,
    /// A close was started (by either side); received messages may still arrive.
    Closing,
    /// Gone. Queued inbound messages can still be read, then end of stream.
    Closed,
}

/// What the driver should do next with the real socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// Send this message.
    Message(WsMessage),
    /// The consumer asked to close: send a close frame (queued messages were sent first).
    Close,
}

struct Inner {
    state: WsState,
    error: Option<String>,
    inbound: VecDeque<WsMessage>,
    outbound: VecDeque<WsMessage>,
    close_requested: bool,
    close_sent: bool,
    /// Consumers waiting to read or to send.
    consumers: Vec<Waker>,
    /// The driver, waiting for outbound work or inbound room.
    driver: Vec<Waker>,
}

/// A WebSocket shared by its consumers and its transport driver.
pub struct WsSocket {
    id: String,
    url: String,
    max_inbound: usize,
    max_outbound: usize,
    max_message: usize,
    inner: Mutex<Inner>,
}

#[derive(Serialize)]
struct StatusDoc<'a> {
    state: WsState,
    url: &'a str,
    error: Option<&'a str>,
}

fn wake(list: &mut Vec<Waker>) {
    list.drain(..).for_each(Waker::wake);
}

fn register(list: &mut Vec<Waker>, cx: &Context<'_>) {
    if !list.iter().any(|w| w.will_wake(cx.waker())) {
        list.push(cx.waker().clone());
    }
}

impl WsSocket {
    /// A socket in state `connecting` for `url` (the transport is started separately).
    pub fn new(
        id: impl Into<String>,
        url: impl Into<String>,
        max_inbound: usize,
        max_outbound: usize,
        max_message: usize,
    ) -> Self {
        WsSocket {
            id: id.into(),
            url: url.into(),
            max_inbound: max_inbound.max(1),
            max_outbound: max_outbound.max(1),
            max_message,
            inner: Mutex::new(Inner {
                state: WsState::Connecting,
                error: None,
                inbound: VecDeque::new(),
                outbound: VecDeque::new(),
                close_requested: false,
                close_sent: false,
                consumers: Vec::new(),
                driver: Vec::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        crate::service::lock(&self.inner)
    }

    /// The id it was given.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The URL it connects to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Largest message either way.
    pub fn max_message(&self) -> usize {
        self.max_message
    }

    /// Current state.
    pub fn state(&self) -> WsState {
        self.lock().state
    }

    /// Why it closed abnormally, if it did.
    pub fn error(&self) -> Option<String> {
        self.lock().error.clone()
    }

    /// Messages received and not yet read.
    pub fn queued_inbound(&self) -> usize {
        self.lock().inbound.len()
    }

    /// `{"state": ..., "url": ..., "error": ...}` (the `status` file).
    pub fn status_json(&self) -> String {
        let st = self.lock();
        serde_json::to_string(&StatusDoc {
            state: st.state,
            url: &self.url,
            error: st.error.as_deref(),
        })
        .unwrap_or_default()
    }

    // ---- consumer side ----

    /// Queues a message. `WouldBlock` while connecting or with the outbound queue full,
    /// `BrokenPipe` once closing or closed, `FileTooLarge` past the message limit.
    pub fn try_send(&self, msg: WsMessage) -> FsResult<()> {
        if msg.as_bytes().len() > self.max_message {
            return Err(FsError::FileTooLarge);
        }
        let mut st = self.lock();
        match st.state {
            WsState::Closing | WsState::Closed => Err(FsError::BrokenPipe),
            _ if st.close_requested => Err(FsError::BrokenPipe),
            WsState::Connecting => Err(FsError::WouldBlock),
            WsState::Open if st.outbound.len() >= self.max_outbound => Err(FsError::WouldBlock),
            WsState::Open => {
                st.outbound.push_back(msg);
                wake(&mut st.driver);
                Ok(())
            }
        }
    }

    /// Ready when [`Self::try_send`] would not return `WouldBlock`.
    pub fn poll_send(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.lock();
        let blocked = match st.state {
            WsState::Connecting => !st.close_requested,
            WsState::Open => !st.close_requested && st.outbound.len() >= self.max_outbound,
            _ => false,
        };
        if blocked {
            register(&mut st.consumers, cx);
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }

    /// Takes the next received message; `Ok(None)` once closed and drained (end of stream),
    /// `WouldBlock` when none yet.
    pub fn try_recv(&self) -> FsResult<Option<WsMessage>> {
        let mut st = self.lock();
        if let Some(m) = st.inbound.pop_front() {
            // Room again: let a paused driver read on.
            wake(&mut st.driver);
            return Ok(Some(m));
        }
        if st.state == WsState::Closed {
            Ok(None)
        } else {
            Err(FsError::WouldBlock)
        }
    }

    /// Ready when [`Self::try_recv`] would not return `WouldBlock`.
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.lock();
        if !st.inbound.is_empty() || st.state == WsState::Closed {
            Poll::Ready(())
        } else {
            register(&mut st.consumers, cx);
            Poll::Pending
        }
    }

    /// Sends a message, waiting for room or for the socket to open.
    pub async fn send(&self, msg: WsMessage) -> FsResult<()> {
        loop {
            match self.try_send(msg.clone()) {
                Err(FsError::WouldBlock) => poll_fn(|cx| self.poll_send(cx)).await,
                r => return r,
            }
        }
    }

    /// Receives the next message; `None` at end of stream.
    pub async fn recv(&self) -> Option<WsMessage> {
        loop {
            match self.try_recv() {
                Err(_) => poll_fn(|cx| self.poll_recv(cx)).await,
                Ok(m) => return m,
            }
        }
    }

    /// Asks to close: queued messages are sent, then a close frame. Idempotent.
    pub fn close(&self) {
        let mut st = self.lock();
        if st.state != WsState::Closed && !st.close_requested {
            st.close_requested = true;
            if st.state == WsState::Open {
                st.state = WsState::Closing;
            }
            wake(&mut st.driver);
            wake(&mut st.consumers);
        }
    }

    /// Whether [`Self::close`] was called.
    pub fn close_requested(&self) -> bool {
        self.lock().close_requested
    }

    // ---- driver side ----

    /// The handshake succeeded.
    pub fn set_open(&self) {
        let mut st = self.lock();
        if st.state == WsState::Connecting {
            st.state = if st.close_requested {
                WsState::Closing
            } else {
                WsState::Open
            };
        }
        wake(&mut st.consumers);
        wake(&mut st.driver);
    }

    /// Queues a received message; `false` (message not taken) when the queue is full.
    pub fn push_inbound(&self, msg: WsMessage) -> bool {
        let mut st = self.lock();
        if st.inbound.len() >= self.max_inbound {
            return false;
        }
        st.inbound.push_back(msg);
        wake(&mut st.consumers);
        true
    }

    /// Ready when the inbound queue has room (or the socket is closed).
    pub fn poll_inbound_space(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.lock();
        if st.inbound.len() < self.max_inbound || st.state == WsState::Closed {
            Poll::Ready(())
        } else {
            register(&mut st.driver, cx);
            Poll::Pending
        }
    }

    /// The next thing to send: queued messages first, then a requested close (once).
    /// Pending while there is nothing to do.
    pub fn poll_outbound(&self, cx: &mut Context<'_>) -> Poll<Outgoing> {
        let mut st = self.lock();
        if let Some(m) = st.outbound.pop_front() {
            wake(&mut st.consumers);
            return Poll::Ready(Outgoing::Message(m));
        }
        if st.close_requested && !st.close_sent {
            st.close_sent = true;
            return Poll::Ready(Outgoing::Close);
        }
        register(&mut st.driver, cx);
        Poll::Pending
    }

    /// A close started (the peer's close frame, or ours).
    pub fn set_closing(&self) {
        let mut st = self.lock();
        if matches!(st.state, WsState::Connecting | WsState::Open) {
            st.state = WsState::Closing;
        }
        wake(&mut st.consumers);
    }

    /// The socket is gone; `error` says why when it was not a clean close. Unsent messages
    /// are dropped; received ones stay readable.
    pub fn set_closed(&self, error: Option<String>) {
        let mut st = self.lock();
        if st.state != WsState::Closed {
            st.state = WsState::Closed;
            if st.error.is_none() {
                st.error = error;
            }
            st.outbound.clear();
        }
        wake(&mut st.consumers);
        wake(&mut st.driver);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_are_bounded_and_eof_follows_drain() {
        let s = WsSocket::new("1", "ws://x/", 2, 1, 4);
        assert_eq!(
            s.try_send(WsMessage::from_bytes(b"a")),
            Err(FsError::WouldBlock)
        );
        s.set_open();
        assert_eq!(
            s.try_send(WsMessage::from_bytes(b"hello")),
            Err(FsError::FileTooLarge)
        );
        s.try_send(WsMessage::from_bytes(b"a")).unwrap();
        assert_eq!(
            s.try_send(WsMessage::from_bytes(b"b")),
            Err(FsError::WouldBlock)
        );
        assert!(s.push_inbound(WsMessage::Text("1".into())));
        assert!(s.push_inbound(WsMessage::Binary(vec![0xff])));
        assert!(!s.push_inbound(WsMessage::Text("3".into())));
        s.set_closed(None);
        assert_eq!(
            s.try_send(WsMessage::from_bytes(b"c")),
            Err(FsError::BrokenPipe)
        );
        assert_eq!(s.try_recv(), Ok(Some(WsMessage::Text("1".into()))));
        assert_eq!(s.try_recv(), Ok(Some(WsMessage::Binary(vec![0xff]))));
        assert_eq!(s.try_recv(), Ok(None));
        assert_eq!(
            s.status_json(),
            r#"{"state":"closed","url":"ws://x/","error":null}"#
        );
    }
}
