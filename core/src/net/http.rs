//! One HTTP exchange: the request a transport carries out and the shared slot its result
//! lands in.

use super::{Allowlist, Url};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// A validated request, ready for a transport.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// Method, upper-case token (`GET`, `POST`, ...).
    pub method: String,
    /// Absolute `http`/`https` URL (already checked against the allowlist).
    pub url: Url,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes (empty: none).
    pub body: Vec<u8>,
    /// Deadline for the whole exchange, body included (ms).
    pub timeout_ms: u64,
    /// Largest body accepted (bytes).
    pub max_body: usize,
    /// Hosts a redirect may lead to.
    pub allow: Allowlist,
}

/// What came back: a status, headers and body, or an error (with the status if one came).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResult {
    /// HTTP status, if a response started.
    pub status: Option<u16>,
    /// Response headers, lower-case names, in order (repeated names kept).
    pub headers: Vec<(String, String)>,
    /// The body (empty on error).
    pub body: Vec<u8>,
    /// `"<category>: <detail>"` (see [`super::category`]) when the exchange failed.
    pub error: Option<String>,
}

impl HttpResult {
    /// A failure with no response.
    pub fn failed(error: String) -> Self {
        HttpResult {
            error: Some(error),
            ..Default::default()
        }
    }
}

#[derive(Default)]
struct CallState {
    result: Option<HttpResult>,
    wakers: Vec<Waker>,
}

/// The slot one exchange's result lands in; consumers poll it (readiness rule, no spinning).
#[derive(Default)]
pub struct HttpCall {
    state: Mutex<CallState>,
}

impl HttpCall {
    /// An empty slot.
    pub fn new() -> Self {
        HttpCall::default()
    }

    fn lock(&self) -> MutexGuard<'_, CallState> {
        crate::service::lock(&self.state)
    }

    /// Stores the result (the first one wins) and wakes every waiter.
    pub fn complete(&self, result: HttpResult) {
        let mut st = self.lock();
        if st.result.is_none() {
            st.result = Some(result);
        }
        st.wakers.drain(..).for_each(Waker::wake);
    }

    /// Whether the result is in.
    pub fn is_done(&self) -> bool {
        self.lock().result.is_some()
    }

    /// Runs `f` on the result if it is in.
    pub fn with_result<T>(&self, f: impl FnOnce(&HttpResult) -> T) -> Option<T> {
        self.lock().result.as_ref().map(f)
    }

    /// Ready once the result is in; otherwise stores the waker.
    pub fn poll_done(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.lock();
        if st.result.is_some() {
            return Poll::Ready(());
        }
        if !st.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            st.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// A future resolving to a copy of the result.
    pub fn wait(&self) -> impl Future<Output = HttpResult> + '_ {
        WaitCall(self)
    }
}

struct WaitCall<'a>(&'a HttpCall);

impl Future for WaitCall<'_> {
    type Output = HttpResult;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<HttpResult> {
        match self.0.poll_done(cx) {
            Poll::Ready(()) => Poll::Ready(self.0.with_result(Clone::clone).unwrap_or_default()),
            Poll::Pending => Poll::Pending,
        }
    }
}
