//! The UI's handle on the namespace: typed, asynchronous calls that post a
//! [`Request`](crate::proto::Request) to the engine worker (`oanix-engine`, which owns the
//! namespace) and wait for its answer; the worker's events go to the handler the explorer
//! sets ([`Client::on_event`]). Components hold a [`Client`] (it is `Copy`), never the
//! namespace itself.

use crate::proto::{
    Answer, Event, Failure, FileRequest, FromEngine, JobRow, JobsRequest, Listing, Mount,
    NostrRequest, NostrResult, Ready, Reply, Request, ReviewRequest, RunRequest, Saved,
    SavedRequest, Shown, ToEngine, TreeRow, ENGINE_URL, VERSION,
};
use js_sys::{Function, Promise, Reflect};
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker};

/// How long the engine worker's wasm may take to start running (it downloads ~400 KiB).
const BOOT_MS: i32 = 60_000;

/// What the explorer does with the worker's events.
type Handler = Box<dyn Fn(Event)>;
/// The worker's message and error listeners (kept alive with it).
type Listener = Closure<dyn FnMut(MessageEvent)>;

/// The worker and what waits for it.
struct Link {
    worker: Worker,
    /// Per request id, the promise's resolve (called once the answer is in `answers`).
    waiting: RefCell<HashMap<u32, Function>>,
    answers: RefCell<HashMap<u32, Answer>>,
    next: Cell<u32>,
    /// The explorer's event handler, and the events that came before it was set.
    on_event: RefCell<Option<Handler>>,
    early: RefCell<Vec<Event>>,
    /// The worker's first word: ready (or why not), and who waits for it.
    ready: RefCell<Option<Result<Ready, String>>>,
    ready_waiting: RefCell<Vec<Function>>,
    /// Why the worker is gone (every later call fails with it).
    broken: RefCell<Option<String>>,
    /// Whether the worker's wasm runs (it says so at once; see [`BOOT_MS`]).
    booted: Cell<bool>,
    listeners: RefCell<Vec<Listener>>,
}

/// A copyable handle the components call the namespace through.
#[derive(Clone, Copy)]
pub(crate) struct Client {
    link: StoredValue<Rc<Link>, LocalStorage>,
}

fn unexpected(reply: Reply) -> Failure {
    Failure {
        message: format!("unexpected reply {reply:?}"),
        errno: "Io".into(),
    }
}

fn failed(message: String) -> Failure {
    Failure {
        message,
        errno: "Io".into(),
    }
}

impl Link {
    fn on_message(&self, data: JsValue) {
        let message: FromEngine = match serde_wasm_bindgen::from_value(data.clone()) {
            Ok(m) => m,
            Err(e) => {
                // Only what the message was about fails: an answer ends its own call
                // (`{ Answer: { id, .. } }`), an unknown event is dropped.
                let id = Reflect::get(&data, &"Answer".into())
                    .and_then(|a| Reflect::get(&a, &"id".into()))
                    .ok()
                    .and_then(|v| v.as_f64());
                let why = format!("unreadable message from the namespace worker: {e}");
                match id.and_then(|id| self.waiting.borrow_mut().remove(&(id as u32))) {
                    Some(resolve) => {
                        self.answers
                            .borrow_mut()
                            .insert(id.unwrap_or_default() as u32, Err(failed(why)));
                        let _ = resolve.call0(&JsValue::NULL);
                    }
                    None => web_sys::console::error_1(&why.into()),
                }
                return;
            }
        };
        match message {
            FromEngine::Booted => self.booted.set(true),
            FromEngine::Ready(Ok(r)) if r.version != VERSION => self.fail(format!(
                "the namespace worker is from another build (protocol {} here, {} there): \
                 reload the page",
                VERSION, r.version
            )),
            FromEngine::Ready(r) => {
                self.booted.set(true);
                self.ready.replace(Some(r));
                for resolve in self.ready_waiting.borrow_mut().drain(..) {
                    let _ = resolve.call0(&JsValue::NULL);
                }
            }
            FromEngine::Answer { id, answer } => {
                let Some(resolve) = self.waiting.borrow_mut().remove(&id) else {
                    return;
                };
                self.answers.borrow_mut().insert(id, answer);
                let _ = resolve.call0(&JsValue::NULL);
            }
            FromEngine::Event(e) => match self.on_event.borrow().as_ref() {
                Some(handle) => handle(e),
                None => self.early.borrow_mut().push(e),
            },
        }
    }

    /// The worker failed: every pending and later call fails with `why`, and the explorer
    /// hears of it ([`Event::Lost`]: nothing is saved or run any more).
    fn fail(&self, why: String) {
        if self.broken.borrow().is_some() {
            return;
        }
        self.broken.replace(Some(why.clone()));
        self.worker.terminate();
        if self.ready.borrow().is_none() {
            self.ready.replace(Some(Err(why.clone())));
        }
        for resolve in self.ready_waiting.borrow_mut().drain(..) {
            let _ = resolve.call0(&JsValue::NULL);
        }
        let waiting: Vec<Function> = self.waiting.borrow_mut().drain().map(|(_, r)| r).collect();
        for resolve in waiting {
            let _ = resolve.call0(&JsValue::NULL);
        }
        match self.on_event.borrow().as_ref() {
            Some(handle) => handle(Event::Lost(why)),
            None => self.early.borrow_mut().push(Event::Lost(why)),
        }
    }
}

impl Client {
    /// Starts the engine worker (it begins loading the namespace at once).
    pub(crate) fn spawn() -> Result<Self, String> {
        let worker = Worker::new(ENGINE_URL)
            .map_err(|e| format!("cannot start the namespace worker: {e:?}"))?;
        let link = Rc::new(Link {
            worker: worker.clone(),
            waiting: RefCell::default(),
            answers: RefCell::default(),
            next: Cell::new(1),
            on_event: RefCell::default(),
            early: RefCell::default(),
            ready: RefCell::default(),
            ready_waiting: RefCell::default(),
            broken: RefCell::default(),
            booted: Cell::new(false),
            listeners: RefCell::default(),
        });
        let weak = Rc::downgrade(&link);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(link) = weak.upgrade() {
                link.on_message(e.data());
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let weak = Rc::downgrade(&link);
        let on_error = Closure::<dyn FnMut(MessageEvent)>::new(move |_e: MessageEvent| {
            if let Some(link) = weak.upgrade() {
                link.fail("the namespace worker failed to start or crashed".into());
            }
        });
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        link.listeners.borrow_mut().extend([on_message, on_error]);
        // A worker whose wasm fails to load reports nothing (its loader's rejection is not
        // an error event): give it BOOT_MS to say it runs.
        let weak = Rc::downgrade(&link);
        let check = Closure::once_into_js(move || {
            if let Some(link) = weak.upgrade() {
                if !link.booted.get() {
                    link.fail(format!(
                        "the namespace worker did not start within {} s (its code did not load)",
                        BOOT_MS / 1000
                    ));
                }
            }
        });
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                check.unchecked_ref(),
                BOOT_MS,
            );
        }
        Ok(Self {
            link: StoredValue::new_local(link),
        })
    }

    /// Waits until the worker has loaded the namespace (what loading reported), or says
    /// why it could not.
    pub(crate) async fn ready(self) -> Result<Ready, String> {
        let link = self.link.get_value();
        if link.ready.borrow().is_none() {
            let promise = Promise::new(&mut |resolve, _| {
                link.ready_waiting.borrow_mut().push(resolve);
            });
            let _ = JsFuture::from(promise).await;
        }
        let ready = link.ready.borrow().clone();
        ready.unwrap_or_else(|| Err("the namespace worker said nothing".into()))
    }

    /// Sends the worker's events to `handle` (those that came before it first).
    pub(crate) fn on_event(self, handle: impl Fn(Event) + 'static) {
        let link = self.link.get_value();
        let early: Vec<Event> = link.early.borrow_mut().drain(..).collect();
        for e in early {
            handle(e);
        }
        link.on_event.replace(Some(Box::new(handle)));
    }

    async fn call(self, request: Request) -> Result<Reply, Failure> {
        let link = self.link.get_value();
        if let Some(why) = link.broken.borrow().clone() {
            return Err(failed(why));
        }
        let id = link.next.get();
        link.next.set(id.wrapping_add(1));
        let message = serde_wasm_bindgen::to_value(&ToEngine::Call { id, request })
            .map_err(|e| failed(format!("cannot send the request: {e}")))?;
        let promise = Promise::new(&mut |resolve, _| {
            link.waiting.borrow_mut().insert(id, resolve);
        });
        if let Err(e) = link.worker.post_message(&message) {
            link.waiting.borrow_mut().remove(&id);
            return Err(failed(format!("cannot reach the namespace worker: {e:?}")));
        }
        let _ = JsFuture::from(promise).await;
        let answer = link.answers.borrow_mut().remove(&id);
        match answer {
            Some(answer) => answer,
            None => {
                Err(failed(link.broken.borrow().clone().unwrap_or_else(|| {
                    "no answer from the namespace worker".into()
                })))
            }
        }
    }

    async fn file(self, request: FileRequest) -> Result<Reply, Failure> {
        self.call(Request::File(request)).await
    }

    async fn done(self, request: FileRequest) -> Result<(), Failure> {
        match self.file(request).await? {
            Reply::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    async fn saved(self, request: SavedRequest) -> Result<String, Failure> {
        match self.call(Request::Saved(request)).await? {
            Reply::Said(s) => Ok(s),
            Reply::Done => Ok(String::new()),
            other => Err(unexpected(other)),
        }
    }

    /// The saved namespaces and the current one.
    pub(crate) async fn saved_list(self) -> Result<Saved, Failure> {
        match self.call(Request::Saved(SavedRequest::List)).await? {
            Reply::Saved(s) => Ok(s),
            other => Err(unexpected(other)),
        }
    }

    /// The namespace changed: save it (progress comes as events).
    pub(crate) async fn save_changes(self) -> Result<(), Failure> {
        self.saved(SavedRequest::Changed).await.map(drop)
    }

    /// Saves the namespace as `name` (the current name from now on).
    pub(crate) async fn save_as(self, name: String) -> Result<String, Failure> {
        self.saved(SavedRequest::SaveAs { name }).await
    }

    /// Opens the namespace saved as `name` in place of this one.
    pub(crate) async fn open_saved(self, name: String) -> Result<String, Failure> {
        self.saved(SavedRequest::Open { name }).await
    }

    /// Deletes the saved namespace `name`.
    pub(crate) async fn delete_saved(self, name: String) -> Result<String, Failure> {
        self.saved(SavedRequest::Delete { name }).await
    }

    /// Submits a NIP-90 kind-5600 job; its event id (the failure says why not, for people).
    pub(crate) async fn nostr_submit(
        self,
        relays: String,
        module: String,
        args: String,
        stdin: String,
    ) -> Result<String, Failure> {
        let r = NostrRequest::Submit {
            relays,
            module,
            args,
            stdin,
        };
        match self.call(Request::Nostr(r)).await? {
            Reply::Said(id) => Ok(id),
            other => Err(unexpected(other)),
        }
    }

    /// Waits for a NIP-90 job's result.
    pub(crate) async fn nostr_result(self, id: String) -> Result<NostrResult, Failure> {
        match self
            .call(Request::Nostr(NostrRequest::Await { id }))
            .await?
        {
            Reply::Nostr(r) => Ok(r),
            other => Err(unexpected(other)),
        }
    }

    async fn run(self, request: RunRequest) -> Result<Reply, Failure> {
        self.call(Request::Run(request)).await
    }

    /// The module runs and jobs use from now on.
    pub(crate) async fn set_module(self, name: String, bytes: Vec<u8>) -> Result<(), Failure> {
        self.run(RunRequest::Module { name, bytes }).await.map(drop)
    }

    /// Starts a run of the module: its id and label (the failure says why not).
    pub(crate) async fn start_run(
        self,
        args: String,
        env: String,
        stdin: String,
        keep_stdin: bool,
        timeout: String,
        allow_net: String,
    ) -> Result<(u64, String), Failure> {
        let r = RunRequest::Start {
            args,
            env,
            stdin,
            keep_stdin,
            timeout,
            allow_net,
        };
        match self.run(r).await? {
            Reply::Started { id, label } => Ok((id, label)),
            other => Err(unexpected(other)),
        }
    }

    /// A line (or more) for run `id`'s open stdin.
    pub(crate) async fn stdin(self, id: u64, text: String) -> Result<(), Failure> {
        self.run(RunRequest::Stdin { id, text }).await.map(drop)
    }

    /// Closes run `id`'s stdin.
    pub(crate) async fn eof(self, id: u64) -> Result<(), Failure> {
        self.run(RunRequest::Eof { id }).await.map(drop)
    }

    /// Stops run `id`.
    pub(crate) async fn stop_run(self, id: u64) -> Result<(), Failure> {
        self.run(RunRequest::Stop { id }).await.map(drop)
    }

    /// A review request; what happened, for people.
    pub(crate) async fn review(self, request: ReviewRequest) -> Result<String, Failure> {
        match self.call(Request::Review(request)).await? {
            Reply::Said(s) => Ok(s),
            other => Err(unexpected(other)),
        }
    }

    /// Queues jobs of the current module.
    pub(crate) async fn submit_jobs(
        self,
        count: String,
        priority: String,
        timeout: String,
    ) -> Result<(), Failure> {
        let r = JobsRequest::Submit {
            count,
            priority,
            timeout,
        };
        self.call(Request::Jobs(r)).await.map(drop)
    }

    /// The newest jobs.
    pub(crate) async fn jobs(self) -> Result<Vec<JobRow>, Failure> {
        match self.call(Request::Jobs(JobsRequest::List)).await? {
            Reply::Jobs(j) => Ok(j),
            other => Err(unexpected(other)),
        }
    }

    /// Cancels job `id`.
    pub(crate) async fn cancel_job(self, id: u64) -> Result<(), Failure> {
        self.call(Request::Jobs(JobsRequest::Cancel { id }))
            .await
            .map(drop)
    }

    /// Job `id`'s stdout then stderr.
    pub(crate) async fn job_output(self, id: u64) -> Result<String, Failure> {
        match self.call(Request::Jobs(JobsRequest::Output { id })).await? {
            Reply::Said(s) => Ok(s),
            other => Err(unexpected(other)),
        }
    }

    /// The mount table.
    pub(crate) async fn mounts(self) -> Result<Vec<Mount>, Failure> {
        match self.file(FileRequest::Mounts).await? {
            Reply::Mounts(m) => Ok(m),
            other => Err(unexpected(other)),
        }
    }

    /// The sidebar tree.
    pub(crate) async fn tree(self) -> Result<Vec<TreeRow>, Failure> {
        match self.file(FileRequest::Tree).await? {
            Reply::Tree(t) => Ok(t),
            other => Err(unexpected(other)),
        }
    }

    /// Whether `path` is a directory.
    pub(crate) async fn is_dir(self, path: String) -> Result<bool, Failure> {
        match self.file(FileRequest::IsDir { path }).await? {
            Reply::IsDir(d) => Ok(d),
            other => Err(unexpected(other)),
        }
    }

    /// A directory's sorted entries and whether files can be made in it.
    pub(crate) async fn list(self, path: String) -> Result<Listing, Failure> {
        match self.file(FileRequest::List { path }).await? {
            Reply::Listing(l) => Ok(l),
            other => Err(unexpected(other)),
        }
    }

    /// Up to `limit` bytes of a file (its end with `tail`), its size and abilities.
    pub(crate) async fn show(self, path: String, limit: u64, tail: bool) -> Result<Shown, Failure> {
        match self.file(FileRequest::Show { path, limit, tail }).await? {
            Reply::Shown(s) => Ok(s),
            other => Err(unexpected(other)),
        }
    }

    /// A file's text, decoded lossily (`Err` carries the path and the failure).
    pub(crate) async fn text(self, path: &str) -> Result<String, String> {
        self.read(path.to_string())
            .await
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| format!("{path}: {e}"))
    }

    /// A whole file.
    pub(crate) async fn read(self, path: String) -> Result<Vec<u8>, Failure> {
        match self.file(FileRequest::Read { path }).await? {
            Reply::Bytes(b) => Ok(b),
            other => Err(unexpected(other)),
        }
    }

    /// Replaces (or creates) a file.
    pub(crate) async fn write(self, path: String, bytes: Vec<u8>) -> Result<(), Failure> {
        self.done(FileRequest::Write { path, bytes }).await
    }

    /// Makes a new empty file or directory (fails if the name exists).
    pub(crate) async fn create(self, path: String, folder: bool) -> Result<(), Failure> {
        self.done(FileRequest::Create { path, folder }).await
    }

    /// Renames a file (fails if `to` exists).
    pub(crate) async fn rename(self, from: String, to: String) -> Result<(), Failure> {
        self.done(FileRequest::Rename { from, to }).await
    }

    /// Removes a file.
    pub(crate) async fn remove(self, path: String) -> Result<(), Failure> {
        self.done(FileRequest::Remove { path }).await
    }
}
