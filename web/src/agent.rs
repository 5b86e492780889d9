//! The agent panel: the live services of the namespace rendered for people — the
//! environment's status (`/env/status`) and the task's (`/task/status`, `result.json`), the
//! logs (`/logs/stdout.log`, `stderr.log`), the events (`/logs/events/*.jsonl`) and the
//! ATIF trajectory (`/logs/atif/trajectory.json`) as steps: source, message, tool calls,
//! observations. Everything is read from the namespace (what a guest would read), again
//! whenever `live` or `revision` changes (the logs: their last 256 KiB).

use crate::client::Client;
use leptos::prelude::*;
use serde_json::Value;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Env,
    Logs,
    Events,
    Trajectory,
}

fn parse_json(read: Result<String, String>, path: &str) -> Result<Value, String> {
    serde_json::from_str(&read?).map_err(|e| format!("{path}: not JSON ({e})"))
}

/// How much of each log the Logs tab shows (its end; the files keep everything).
const LOG_TAIL: u64 = 256 << 10;

/// What one tab shows, read from the namespace.
#[derive(Clone)]
enum Loaded {
    Env {
        env: Result<Value, String>,
        task: Result<Value, String>,
        result: Result<String, String>,
    },
    Logs {
        out: String,
        err: String,
    },
    Events(Vec<Value>),
    Trajectory(Result<Value, String>),
}

/// The end of a log (at most [`LOG_TAIL`] bytes, from a line start when cut).
async fn tail(client: Client, path: &str) -> String {
    match client.show(path.to_string(), LOG_TAIL, true).await {
        Ok(s) => {
            let partial = s.partial();
            let text = String::from_utf8_lossy(&s.bytes).into_owned();
            match (partial, text.find('\n')) {
                (true, Some(i)) => format!(
                    "… (last {} of {} bytes)\n{}",
                    text.len() - i - 1,
                    s.size,
                    &text[i + 1..]
                ),
                _ => text,
            }
        }
        Err(e) => format!("{path}: {e}"),
    }
}

async fn load(client: Client, tab: Tab) -> Loaded {
    match tab {
        Tab::Env => Loaded::Env {
            env: parse_json(client.text("/env/status").await, "/env/status"),
            task: parse_json(client.text("/task/status").await, "/task/status"),
            result: client.text("/task/result.json").await,
        },
        Tab::Logs => Loaded::Logs {
            out: tail(client, "/logs/stdout.log").await,
            err: tail(client, "/logs/stderr.log").await,
        },
        Tab::Events => {
            let mut names: Vec<String> = client
                .list("/logs/events".into())
                .await
                .map(|l| l.entries.into_iter().map(|e| e.name).collect())
                .unwrap_or_default();
            names.sort();
            let mut events = Vec::new();
            for n in names {
                if let Ok(t) = client.text(&format!("/logs/events/{n}")).await {
                    events.extend(
                        t.lines()
                            .filter_map(|l| serde_json::from_str::<Value>(l).ok()),
                    );
                }
            }
            Loaded::Events(events)
        }
        Tab::Trajectory => Loaded::Trajectory(parse_json(
            client.text("/logs/atif/trajectory.json").await,
            "/logs/atif/trajectory.json",
        )),
    }
}

/// A JSON value as short text (strings without quotes).
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The tabs, re-read whenever `live` or `revision` changes.
#[component]
pub fn AgentPanel(client: Client, live: RwSignal<u64>, revision: ReadSignal<u64>) -> impl IntoView {
    let tab = RwSignal::new(Tab::Env);
    // The shown tab, re-read whenever the services or the namespace change.
    let loaded = LocalResource::new(move || {
        live.track();
        revision.track();
        load(client, tab.get())
    });
    let button = move |t: Tab, class: &'static str, label: &'static str| {
        view! {
            <button
                class=move || format!("tab {class}{}", if tab.get() == t { " active" } else { "" })
                on:click=move |_| tab.set(t)
            >
                {label}
            </button>
        }
    };
    view! {
        <section class="agent-panel" aria-label="Agent environment">
            <h2>"Agent"</h2>
            <div class="tabs" role="tablist">
                {button(Tab::Env, "tab-env", "Environment")}
                {button(Tab::Logs, "tab-logs", "Logs")}
                {button(Tab::Events, "tab-events", "Events")}
                {button(Tab::Trajectory, "tab-atif", "Trajectory (ATIF)")}
            </div>
            {move || loaded.get().map(|l| match l {
                Loaded::Env { env, task, result } => view! { <EnvView env task result/> }.into_any(),
                Loaded::Logs { out, err } => view! { <LogsView out err/> }.into_any(),
                Loaded::Events(events) => view! { <EventsView events/> }.into_any(),
                Loaded::Trajectory(doc) => view! { <AtifView doc/> }.into_any(),
            })}
        </section>
    }
}

/// `/env/status` and `/task/status` (+ `result.json`).
#[component]
fn EnvView(
    env: Result<Value, String>,
    task: Result<Value, String>,
    result: Result<String, String>,
) -> impl IntoView {
    let env_view = match env {
        Err(e) => view! { <p class="error">{e}</p> }.into_any(),
        Ok(doc) => {
            let current = &doc["current"];
            let state = show(&current["state"]);
            let detail = match (&current["exit_code"], &current["error"]) {
                (_, Value::String(e)) => format!(" — {e}"),
                (Value::Number(c), _) => format!(" — exit code {c}"),
                _ => String::new(),
            };
            let history = doc["history"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|t| view! { <li>{show(&t["state"]["state"])}</li> })
                .collect_view();
            view! {
                <dl class="env-status">
                    <dt>"Environment"</dt><dd class="env-id">{show(&doc["id"])}</dd>
                    <dt>"State"</dt><dd class=format!("env-state state-{state}")>{state.clone()}{detail}</dd>
                    <dt>"History"</dt><dd><ol class="env-history">{history}</ol></dd>
                </dl>
            }
            .into_any()
        }
    };
    let task_view = match task {
        Err(e) => view! { <p class="error">{e}</p> }.into_any(),
        Ok(doc) => view! {
            <dl class="task-status">
                <dt>"Task"</dt><dd class="task-state">{show(&doc["status"])}</dd>
                <dt>"Exit code"</dt><dd>{show(&doc["exit_code"])}</dd>
                <dt>"Error"</dt><dd>{show(&doc["error"])}</dd>
                <dt>"Result"</dt>
                <dd><pre class="task-result">{result.unwrap_or_else(|e| e)}</pre></dd>
            </dl>
        }
        .into_any(),
    };
    view! { <div class="env-view">{env_view}{task_view}</div> }
}

/// `/logs/stdout.log` and `/logs/stderr.log`.
#[component]
fn LogsView(out: String, err: String) -> impl IntoView {
    // Guest output keeps its ANSI colours, rendered like the Run panel's.
    let colored = |text: String| {
        crate::ansi::segments(&text)
            .into_iter()
            .map(|s| view! { <span class=s.class>{s.text}</span> })
            .collect_view()
    };
    view! {
        <h3>"stdout"</h3>
        <pre class="run-output logs-stdout">{colored(out)}</pre>
        <h3>"stderr"</h3>
        <pre class="run-output logs-stderr">{colored(err)}</pre>
    }
}

/// Every line of every `/logs/events/*.jsonl`, oldest first.
#[component]
fn EventsView(events: Vec<Value>) -> impl IntoView {
    if events.is_empty() {
        return view! { <p class="muted events-empty">"No events yet."</p> }.into_any();
    }
    view! {
        <table class="listing events">
            <thead><tr><th>"Time"</th><th>"Level"</th><th>"Message"</th><th>"Data"</th></tr></thead>
            <tbody>
                {events.into_iter().map(|e| {
                    let level = show(&e["level"]);
                    view! {
                        <tr class=format!("event level-{level}")>
                            <td class="muted">{show(&e["timestamp"])}</td>
                            <td>{level.clone()}</td>
                            <td>{show(&e["message"])}</td>
                            <td><code>{show(&e["data"])}</code></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The ATIF trajectory as steps.
#[component]
fn AtifView(doc: Result<Value, String>) -> impl IntoView {
    let doc = match doc {
        Ok(d) => d,
        Err(e) => return view! { <p class="error">{e}</p> }.into_any(),
    };
    let steps = doc["steps"].as_array().cloned().unwrap_or_default();
    let header = format!(
        "{} · session {} · agent {} {}",
        show(&doc["schema_version"]),
        show(&doc["session_id"]),
        show(&doc["agent"]["name"]),
        show(&doc["agent"]["version"]),
    );
    if steps.is_empty() {
        return view! {
            <p class="muted atif-header">{header}</p>
            <p class="muted atif-empty">"No steps yet."</p>
        }
        .into_any();
    }
    view! {
        <p class="muted atif-header">{header}</p>
        <ol class="atif-steps">{steps.into_iter().map(|s| view! { <Step step=s/> }).collect_view()}</ol>
    }
    .into_any()
}

#[component]
fn Step(step: Value) -> impl IntoView {
    let source = show(&step["source"]);
    let calls = step["tool_calls"].as_array().cloned().unwrap_or_default();
    let results = step["observation"]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    view! {
        <li class=format!("atif-step source-{source}")>
            <div class="step-head">
                <span class="step-id">{format!("#{}", show(&step["step_id"]))}</span>
                " "
                <span class="step-source">{source.clone()}</span>
                " "
                <span class="muted">{show(&step["timestamp"])}</span>
            </div>
            <p class="step-message">{show(&step["message"])}</p>
            {calls.into_iter().map(|c| view! {
                <div class="tool-call">
                    "→ " <code class="tool-name">{show(&c["function_name"])}</code>
                    " " <code class="tool-args">{show(&c["arguments"])}</code>
                </div>
            }).collect_view()}
            {results.into_iter().map(|r| view! {
                <pre class="observation">{show(&r["content"])}</pre>
            }).collect_view()}
        </li>
    }
}
