//! The agent panel: the live services of the namespace rendered for people — the
//! environment's status (`/env/status`) and the task's (`/task/status`, `result.json`), the
//! logs (`/logs/stdout.log`, `stderr.log`), the events (`/logs/events/*.jsonl`) and the
//! ATIF trajectory (`/logs/atif/trajectory.json`) as steps: source, message, tool calls,
//! observations. Everything is read from the namespace (what a guest would read), again
//! whenever `live` or `revision` changes.

use leptos::prelude::*;
use oanix_core::Namespace;
use serde_json::Value;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Env,
    Logs,
    Events,
    Trajectory,
}

fn read_text(ns: &Namespace, path: &str) -> Result<String, String> {
    ns.read_file(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| format!("{path}: {e}"))
}

fn read_json(ns: &Namespace, path: &str) -> Result<Value, String> {
    let text = read_text(ns, path)?;
    serde_json::from_str(&text).map_err(|e| format!("{path}: not JSON ({e})"))
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
pub fn AgentPanel(
    ns: StoredValue<Namespace, LocalStorage>,
    live: RwSignal<u64>,
    revision: ReadSignal<u64>,
) -> impl IntoView {
    let tab = RwSignal::new(Tab::Env);
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
            {move || {
                live.track();
                revision.track();
                match tab.get() {
                    Tab::Env => ns.with_value(|ns| view! { <EnvView ns=ns.clone()/> }).into_any(),
                    Tab::Logs => ns.with_value(|ns| view! { <LogsView ns=ns.clone()/> }).into_any(),
                    Tab::Events => ns.with_value(|ns| view! { <EventsView ns=ns.clone()/> }).into_any(),
                    Tab::Trajectory => ns.with_value(|ns| view! { <AtifView ns=ns.clone()/> }).into_any(),
                }
            }}
        </section>
    }
}

/// `/env/status` and `/task/status` (+ `result.json`).
#[component]
fn EnvView(ns: Namespace) -> impl IntoView {
    let env = read_json(&ns, "/env/status");
    let task = read_json(&ns, "/task/status");
    let result = read_text(&ns, "/task/result.json");
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
fn LogsView(ns: Namespace) -> impl IntoView {
    let out = read_text(&ns, "/logs/stdout.log").unwrap_or_else(|e| e);
    let err = read_text(&ns, "/logs/stderr.log").unwrap_or_else(|e| e);
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
fn EventsView(ns: Namespace) -> impl IntoView {
    let mut names: Vec<String> = ns
        .list("/logs/events")
        .map(|v| v.into_iter().map(|e| e.name).collect())
        .unwrap_or_default();
    names.sort();
    let events: Vec<Value> = names
        .iter()
        .filter_map(|n| read_text(&ns, &format!("/logs/events/{n}")).ok())
        .flat_map(|t| {
            t.lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect::<Vec<Value>>()
        })
        .collect();
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
fn AtifView(ns: Namespace) -> impl IntoView {
    let doc = match read_json(&ns, "/logs/atif/trajectory.json") {
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
