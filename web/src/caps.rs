//! The explorer's network capabilities: `/cap/http` and `/cap/ws` in the page's namespace
//! (so the tree shows them), granted for an editable allowlist (default: the page's own
//! origin and `127.0.0.1`). Runs and jobs use the page's own instances, in place.

use crate::proto::Conn;
use leptos::prelude::*;
use oanix_core::net::{Allowlist, NetGrant};
use oanix_core::services::{is_capability, HttpFs, WsFs};
use oanix_core::Namespace;
use std::sync::Arc;

/// The page's own host (with its port) and `127.0.0.1`.
pub fn default_allowlist() -> String {
    let host = web_sys::window()
        .and_then(|w| w.location().host().ok())
        .unwrap_or_default();
    if host.is_empty() || host == "127.0.0.1" {
        "127.0.0.1".into()
    } else {
        format!("{host}, 127.0.0.1")
    }
}

/// (Re)mounts `/cap/http` and `/cap/ws` for `allow`; an empty allowlist unmounts them.
/// Returns the new `/cap/ws` (its connections are shown under the Run panel).
pub fn mount_caps(ns: &mut Namespace, allow: &str) -> Result<Option<Arc<WsFs>>, String> {
    let allow = Allowlist::parse([allow]).map_err(|e| e.to_string())?;
    let _ = ns.unmount("/cap/http");
    let _ = ns.unmount("/cap/ws");
    if allow.rules().is_empty() {
        return Ok(None);
    }
    let grant = NetGrant::new(allow);
    ns.mount("/cap/http", Arc::new(HttpFs::new(grant.clone())))
        .map_err(|e| e.to_string())?;
    let ws = Arc::new(WsFs::new(grant));
    ns.mount("/cap/ws", ws.clone()).map_err(|e| e.to_string())?;
    Ok(Some(ws))
}

/// The table of `ws`'s connections.
pub fn ws_conns(ws: &WsFs) -> Vec<Conn> {
    ws.connections()
        .iter()
        .map(|s| {
            let row: serde_json::Value = serde_json::from_str(&s.status_json()).unwrap_or_default();
            let field = |k: &str| row.get(k).and_then(|v| v.as_str()).map(str::to_string);
            Conn {
                id: s.id().to_string(),
                state: field("state").unwrap_or_default(),
                url: field("url").unwrap_or_default(),
                error: field("error"),
            }
        })
        .collect()
}

/// Moves the capability mounts of `from` into `to` (a namespace rebuilt from a snapshot).
pub fn carry_caps(from: &Namespace, to: &mut Namespace) {
    for m in from.mounts() {
        for l in &m.layers {
            if is_capability(l.service.kind()) {
                let p = m.path.to_absolute();
                let _ = to.unmount(&p);
                let _ = to.mount(&p, l.service.clone());
            }
        }
    }
}

/// The small table of the WebSocket connections runs opened.
#[component]
pub fn WsConnections(conns: RwSignal<Vec<Conn>>) -> impl IntoView {
    view! {
        <div class="ws-conns" aria-label="WebSocket connections">
            <h3>"WebSocket connections (/cap/ws)"</h3>
            {move || {
                let rows = conns.get();
                if rows.is_empty() {
                    view! { <p class="muted">"none opened"</p> }.into_any()
                } else {
                    view! {
                        <table>
                            <thead><tr><th>"id"</th><th>"state"</th><th>"url"</th><th>"error"</th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|c| {
                                    let class = format!("ws-state-{}", c.state);
                                    view! {
                                    <tr class=class>
                                        <td>{c.id}</td>
                                        <td class="ws-state">{c.state}</td>
                                        <td><code>{c.url}</code></td>
                                        <td class="error">{c.error.unwrap_or_default()}</td>
                                    </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }
            }}
        </div>
    }
}
