//! The browser transport: `fetch` and `WebSocket` (web-sys), on whatever global the code
//! runs in (a window or a dedicated worker). Work runs on the JS event loop
//! (`spawn_local`); results reach the services through [`HttpCall`] / [`WsSocket`] wakers.
//!
//! Browser rules that shape it: redirects are not followed (`redirect: "manual"` hides the
//! target, so the allowlist could not be checked); a `WebSocket` cannot be paused, so an
//! inbound queue over its limit closes the socket with an error; a cross-origin `fetch`
//! needs CORS from the server (and only exposed headers are visible).

use super::{category, err, HttpCall, HttpRequest, HttpResult, NetGrant, Transport};
use super::{Outgoing, WsMessage, WsSocket, WsState};
use std::cell::Cell;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{
    AbortController, BinaryType, CloseEvent, Event, Headers, MessageEvent,
    ReadableStreamDefaultReader, RequestInit, RequestRedirect, Response, ResponseType, WebSocket,
};

/// fetch + WebSocket.
pub struct WebNet;

impl WebNet {
    /// The browser transport (redirects are never followed, so the grant is not needed).
    pub fn new(_grant: &NetGrant) -> Self {
        WebNet
    }
}

impl Transport for WebNet {
    fn http(&self, req: HttpRequest, call: Arc<HttpCall>) {
        spawn_local(async move {
            let r = fetch(req).await;
            call.complete(r);
        });
    }

    fn ws_connect(&self, socket: Arc<WsSocket>) {
        drive_ws(socket);
    }
}

/// A JS exception's message.
fn js_err(v: &JsValue) -> String {
    if let Some(e) = v.dyn_ref::<js_sys::Error>() {
        return format!("{}: {}", String::from(e.name()), String::from(e.message()));
    }
    v.as_string().unwrap_or_else(|| format!("{v:?}"))
}

fn global_fn(name: &str) -> Option<js_sys::Function> {
    js_sys::Reflect::get(&js_sys::global(), &name.into())
        .ok()?
        .dyn_into()
        .ok()
}

/// `setTimeout(cb, ms)`; its id.
fn set_timeout(cb: &js_sys::Function, ms: u64) -> Option<JsValue> {
    let ms = ms.min(i32::MAX as u64) as f64;
    global_fn("setTimeout")?
        .call2(&js_sys::global(), cb, &ms.into())
        .ok()
}

fn clear_timeout(id: &JsValue) {
    if let Some(f) = global_fn("clearTimeout") {
        let _ = f.call1(&js_sys::global(), id);
    }
}

fn call_fetch(url: &str, init: &RequestInit) -> Result<js_sys::Promise, JsValue> {
    let global = js_sys::global();
    if let Some(w) = global.dyn_ref::<web_sys::WorkerGlobalScope>() {
        return Ok(w.fetch_with_str_and_init(url, init));
    }
    if let Some(w) = global.dyn_ref::<web_sys::Window>() {
        return Ok(w.fetch_with_str_and_init(url, init));
    }
    Err(JsValue::from_str("no fetch in this global scope"))
}

async fn fetch(req: HttpRequest) -> HttpResult {
    let timed_out = Rc::new(Cell::new(false));
    let controller = AbortController::new().ok();
    let init = RequestInit::new();
    init.set_method(&req.method);
    init.set_redirect(RequestRedirect::Manual);
    let headers = match Headers::new() {
        Ok(h) => h,
        Err(e) => return HttpResult::failed(err(category::OTHER, js_err(&e))),
    };
    for (k, v) in &req.headers {
        if let Err(e) = headers.append(k, v) {
            return HttpResult::failed(err(category::OTHER, js_err(&e)));
        }
    }
    init.set_headers(&headers);
    if !req.body.is_empty() {
        init.set_body(&js_sys::Uint8Array::from(&req.body[..]));
    }
    if let Some(c) = &controller {
        init.set_signal(Some(&c.signal()));
    }
    let flag = timed_out.clone();
    let abort = controller.clone();
    let on_timeout = Closure::once(move || {
        flag.set(true);
        if let Some(c) = abort {
            c.abort();
        }
    });
    let timer = set_timeout(on_timeout.as_ref().unchecked_ref(), req.timeout_ms);
    let mut result = exchange(&req, &init).await;
    if let Some(id) = &timer {
        clear_timeout(id);
    }
    drop(on_timeout);
    if timed_out.get() {
        result = HttpResult {
            status: result.status,
            error: Some(err(
                category::TIMEOUT,
                format!("after {} ms", req.timeout_ms),
            )),
            ..Default::default()
        };
    }
    result
}

async fn exchange(req: &HttpRequest, init: &RequestInit) -> HttpResult {
    let promise = match call_fetch(req.url.as_str(), init) {
        Ok(p) => p,
        Err(e) => return HttpResult::failed(err(category::OTHER, js_err(&e))),
    };
    let resp: Response = match JsFuture::from(promise).await {
        Ok(v) => v.unchecked_into(),
        // fetch rejects with a bare "Failed to fetch" for refused connections, DNS, CORS.
        Err(e) => return HttpResult::failed(err(category::CONNECT, js_err(&e))),
    };
    if resp.type_() == ResponseType::Opaqueredirect {
        return HttpResult::failed(err(
            category::REDIRECT,
            "the browser hides redirect targets",
        ));
    }
    let status = resp.status();
    let mut headers = Vec::new();
    if let Ok(Some(iter)) = js_sys::try_iter(&resp.headers()) {
        for pair in iter.flatten() {
            let pair: js_sys::Array = pair.unchecked_into();
            if let (Some(k), Some(v)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                headers.push((k, v));
            }
        }
    }
    let fail = |cat: &str, detail: String| HttpResult {
        status: Some(status),
        error: Some(err(cat, detail)),
        ..Default::default()
    };
    let too_large = || fail(category::TOO_LARGE, format!("over {} bytes", req.max_body));
    let declared = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > req.max_body as u64) {
        return too_large();
    }
    let mut body = Vec::new();
    if let Some(stream) = resp.body() {
        let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
        loop {
            let chunk = match JsFuture::from(reader.read()).await {
                Ok(c) => c,
                Err(e) => return fail(category::INCOMPLETE, js_err(&e)),
            };
            let done = js_sys::Reflect::get(&chunk, &"done".into())
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(true);
            if done {
                break;
            }
            let value = js_sys::Reflect::get(&chunk, &"value".into()).unwrap_or_default();
            let bytes: js_sys::Uint8Array = value.unchecked_into();
            if body.len() + bytes.length() as usize > req.max_body {
                let _ = reader.cancel();
                return too_large();
            }
            let start = body.len();
            body.resize(start + bytes.length() as usize, 0);
            bytes.copy_to(&mut body[start..]);
        }
    }
    HttpResult {
        status: Some(status),
        headers,
        body,
        error: None,
    }
}

fn drive_ws(sock: Arc<WsSocket>) {
    let ws = match WebSocket::new(sock.url()) {
        Ok(ws) => ws,
        Err(e) => return sock.set_closed(Some(err(category::CONNECT, js_err(&e)))),
    };
    ws.set_binary_type(BinaryType::Arraybuffer);
    let s = sock.clone();
    let onopen = Closure::<dyn FnMut()>::new(move || s.set_open());
    let (s, w) = (sock.clone(), ws.clone());
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let data = e.data();
        let msg = if let Some(t) = data.as_string() {
            WsMessage::Text(t)
        } else if let Some(buf) = data.dyn_ref::<js_sys::ArrayBuffer>() {
            WsMessage::Binary(js_sys::Uint8Array::new(buf).to_vec())
        } else {
            return;
        };
        // Empty messages would read as end of stream through a file: not delivered.
        if msg.as_bytes().is_empty() {
            return;
        }
        if !s.push_inbound(msg) {
            // A WebSocket cannot be paused: bounded memory means closing it.
            let _ = w.close_with_code_and_reason(1008, "inbound queue full");
            s.set_closed(Some(err(
                category::OVERFLOW,
                "messages were not read in time",
            )));
        }
    });
    let errored = Rc::new(Cell::new(false));
    let e2 = errored.clone();
    let onerror = Closure::<dyn FnMut(Event)>::new(move |_e: Event| e2.set(true));
    let s = sock.clone();
    let onclose = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
        let error = if s.state() == WsState::Connecting {
            Some(err(category::CONNECT, format!("close code {}", e.code())))
        } else if s.close_requested() {
            // Our own close: how the peer ended it is not the consumer's error (as natively).
            None
        } else if errored.get() || !e.was_clean() {
            Some(err(category::OTHER, format!("close code {}", e.code())))
        } else {
            None
        };
        s.set_closed(error);
    });
    ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    ws.set_onerror(Some(onerror.as_ref().unchecked_ref()));
    ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
    // The outbound pump owns the callbacks and ends (dropping them) once the socket closed.
    spawn_local(async move {
        loop {
            let next = poll_fn(|cx| {
                if sock.state() == WsState::Closed {
                    return Poll::Ready(None);
                }
                sock.poll_outbound(cx).map(Some)
            })
            .await;
            match next {
                None => break,
                Some(Outgoing::Message(m)) => {
                    let r = match &m {
                        WsMessage::Text(t) => ws.send_with_str(t),
                        WsMessage::Binary(b) => ws.send_with_u8_array(b),
                    };
                    if let Err(e) = r {
                        sock.set_closed(Some(err(category::OTHER, js_err(&e))));
                    }
                }
                Some(Outgoing::Close) => {
                    sock.set_closing();
                    if ws.ready_state() == WebSocket::CONNECTING {
                        // Closing before open: the browser reports it as an error; say so
                        // plainly instead.
                        let _ = ws.close();
                        sock.set_closed(None);
                    } else {
                        let _ = ws.close();
                    }
                }
            }
        }
        ws.set_onopen(None);
        ws.set_onmessage(None);
        ws.set_onerror(None);
        ws.set_onclose(None);
        drop((onopen, onmessage, onerror, onclose));
    });
}
