//! Booting the explorer: start the engine worker (it loads the namespace: the saved one
//! from IndexedDB, `/workspace` on OPFS, the live `/task`, `/logs`, `/env`, `/jobs` and
//! `/cap`), wait until it says it is ready, then show the [`Explorer`].

use crate::client::Client;
use crate::explorer::Explorer;
use leptos::prelude::*;
use oanix_web::proto::Ready;

/// The engine worker with what loading reported, or why there is no namespace.
type Started = Result<(Client, Ready), String>;

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let started: RwSignal<Option<Started>, LocalStorage> = RwSignal::new_local(None);
    leptos::task::spawn_local(async move {
        let client = Client::spawn();
        started.set(Some(match client {
            Ok(c) => c.ready().await.map(|r| (c, r)),
            Err(e) => Err(e),
        }));
    });
    move || match started.get() {
        None => view! { <p class="muted loading">"Loading the namespace…"</p> }.into_any(),
        Some(Ok((client, ready))) => view! { <Explorer client=client ready=ready/> }.into_any(),
        Some(Err(e)) => {
            view! { <p class="error">"Could not build the namespace: " {e}</p> }.into_any()
        }
    }
}
