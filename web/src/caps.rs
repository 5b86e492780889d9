//! The WebSocket connections table under the Run panel (`/cap/ws`'s connections, as the
//! namespace side reports them).

use crate::proto::Conn;
use leptos::prelude::*;

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
