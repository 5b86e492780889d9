//! The Jobs panel: queue the Run panel's module as jobs of the explorer's scheduler (run in
//! the engine worker like runs, in place; `oanix_web::engine`'s jobs part), watch them (the
//! list is read from `/jobs`), cancel them, read a job's output.

use crate::client::Client;
use crate::proto::{Event, JobRow};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// What the Jobs panel shows from the engine's events ([`Self::event`]).
#[derive(Clone, Copy)]
pub(crate) struct Jobs {
    /// Jobs that ran to their end.
    ran: RwSignal<u64>,
    /// What became of the last job that ended.
    status: RwSignal<String>,
    /// Bumped to re-read the list (while jobs run, and when they end).
    tick: RwSignal<u64>,
    /// Whether the scheduler runs jobs (the list is polled meanwhile).
    busy: StoredValue<bool>,
}

impl Jobs {
    /// Nothing ran yet.
    pub(crate) fn new() -> Self {
        Self {
            ran: RwSignal::new(0),
            status: RwSignal::new(String::new()),
            tick: RwSignal::new(0),
            busy: StoredValue::new(false),
        }
    }

    /// Takes in one of the engine's job events: the list is polled while the scheduler
    /// runs jobs (it says when it starts and when it is idle again).
    pub(crate) fn event(&self, event: Event) {
        match event {
            Event::Jobs { ran, said, idle } => {
                self.ran.set(ran);
                if let Some(s) = said {
                    self.status.set(s);
                }
                if idle {
                    self.busy.set_value(false);
                    self.tick.update(|t| *t += 1);
                } else {
                    self.poll();
                }
            }
            Event::Lost(why) => {
                self.busy.set_value(false);
                self.status.set(format!("no more jobs: {why}"));
            }
            _ => {}
        }
    }

    /// Re-reads the list every 300 ms until the scheduler is idle; the last tick clears
    /// the interval and lets its closure go.
    fn poll(self) {
        if self.busy.get_value() {
            return;
        }
        self.busy.set_value(true);
        let id = std::rc::Rc::new(std::cell::Cell::new(None::<i32>));
        let slot = std::rc::Rc::new(std::cell::RefCell::new(None::<Closure<dyn FnMut()>>));
        let poll = {
            let (id, slot) = (id.clone(), slot.clone());
            Closure::<dyn FnMut()>::new(move || {
                self.tick.update(|t| *t += 1);
                if !self.busy.get_value() {
                    if let (Some(w), Some(handle)) = (web_sys::window(), id.take()) {
                        w.clear_interval_with_handle(handle);
                    }
                    // Dropped after this call returns (not while it runs).
                    let closure = slot.borrow_mut().take();
                    leptos::task::spawn_local(async move { drop(closure) });
                }
            })
        };
        if let Some(w) = web_sys::window() {
            id.set(
                w.set_interval_with_callback_and_timeout_and_arguments_0(
                    poll.as_ref().unchecked_ref(),
                    300,
                )
                .ok(),
            );
        }
        *slot.borrow_mut() = Some(poll);
    }
}

/// The Jobs panel: queue the Run panel's module as jobs, watch them, cancel them.
#[component]
pub fn JobsPanel(client: Client, state: Jobs, compiles: RwSignal<u64>) -> impl IntoView {
    let Jobs {
        ran, status, tick, ..
    } = state;
    let priority = RwSignal::new("0".to_string());
    let count = RwSignal::new("1".to_string());
    let timeout = RwSignal::new("10".to_string());
    let shown = RwSignal::new(None::<u64>);
    let submit = move |_| {
        let (c, p, t) = (
            count.get_untracked(),
            priority.get_untracked(),
            timeout.get_untracked(),
        );
        leptos::task::spawn_local(async move {
            if let Err(e) = client.submit_jobs(c, p, t).await {
                status.set(format!("not queued: {e}"));
            }
            tick.update(|t| *t += 1);
        });
    };
    let list = LocalResource::new(move || {
        tick.track();
        client.jobs()
    });
    let output = LocalResource::new(move || {
        tick.track();
        let id = shown.get();
        async move {
            match id {
                Some(id) => client.job_output(id).await.unwrap_or_else(|e| e.message),
                None => String::new(),
            }
        }
    });
    view! {
        <section class="jobs-panel" aria-label="Jobs">
            <h2>"Jobs"</h2>
            <div class="run-actions">
                <label>"Priority " <input type="number" class="job-priority" bind:value=priority/></label>
                <label>"Count " <input type="number" min="1" max="1000" class="job-count" bind:value=count/></label>
                <label>"Timeout (s) " <input type="number" min="0.1" step="0.1" class="job-timeout" bind:value=timeout/></label>
                <button class="queue-button" on:click=submit>"Queue the Run panel's module"</button>
            </div>
            <p class="job-status" role="status">{move || status.get()}</p>
            <p class="job-pool">
                {move || {
                    let (jobs, compiles) = (ran.get(), compiles.get());
                    format!(
                        "{jobs} job(s) ran in the engine worker; modules compiled for this page: {compiles}"
                    )
                }}
            </p>
            <table class="listing jobs">
                <thead><tr><th>"Job"</th><th>"Priority"</th><th>"State"</th><th></th></tr></thead>
                <tbody>
                    {move || {
                        list.get()
                            .and_then(Result::ok)
                            .unwrap_or_default()
                            .into_iter()
                            .map(|j: JobRow| {
                                let id = j.id;
                                view! {
                                    <tr class="job-row">
                                        <td><button class="link" on:click=move |_| shown.set(Some(id))>{format!("#{id}")}</button></td>
                                        <td class="num">{j.priority}</td>
                                        <td class="job-state">{j.state}</td>
                                        <td>
                                            {j.active.then(|| view! {
                                                <button class="cancel-job" on:click=move |_| {
                                                    leptos::task::spawn_local(async move {
                                                        if let Err(e) = client.cancel_job(id).await {
                                                            status.set(format!("cannot cancel #{id}: {e}"));
                                                        }
                                                        tick.update(|t| *t += 1);
                                                    });
                                                }>"cancel"</button>
                                            })}
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
            <pre class="run-output job-output">
                {move || output.get()}
            </pre>
        </section>
    }
}
