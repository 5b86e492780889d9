//! The UI's handle on the namespace: typed, asynchronous calls that send a
//! [`Request`](crate::proto::Request) and wait for its answer. Components hold a [`Client`]
//! (it is `Copy`), never the namespace itself; today the answer comes from the
//! [`Engine`] on the page, and the calls are already what a worker's messages need.

use crate::engine::Engine;
use crate::proto::{
    Failure, FileRequest, JobRow, JobsRequest, Listing, Mount, NostrRequest, NostrResult, Reply,
    Request, ReviewRequest, RunRequest, Saved, SavedRequest, Shown, TreeRow,
};
use leptos::prelude::*;
use std::rc::Rc;

/// A copyable handle the components call the namespace through.
#[derive(Clone, Copy)]
pub(crate) struct Client {
    engine: StoredValue<Rc<Engine>, LocalStorage>,
}

fn unexpected(reply: Reply) -> Failure {
    Failure {
        message: format!("unexpected reply {reply:?}"),
        errno: "Io".into(),
    }
}

impl Client {
    /// A client of `engine`.
    pub(crate) fn new(engine: Rc<Engine>) -> Self {
        Self {
            engine: StoredValue::new_local(engine),
        }
    }

    async fn call(self, request: Request) -> Result<Reply, Failure> {
        let engine = self.engine.get_value();
        engine.handle(request).await
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
