//! The Nostr panel: submits a NIP-90 kind-5600 job ("run a WASI module", served by
//! `oanix provider`) to the relays given, through the namespace side's `/cap/nostr`
//! (`crate::engine`'s nostr part), then shows the provider's feedback and the result's
//! stdout.
//!
//! A provider downloads the module itself, so the job names the module by its http(s) URL.

use crate::client::Client;
use leptos::prelude::*;

/// The panel.
#[component]
pub fn NostrPanel(client: Client) -> impl IntoView {
    let relays = RwSignal::new(String::new());
    let module_url = RwSignal::new(String::new());
    let args = RwSignal::new(String::new());
    let stdin = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let output = RwSignal::new(String::new());

    let run = move |_| {
        output.set(String::new());
        let (r, m, a, i) = (
            relays.get_untracked(),
            module_url.get_untracked(),
            args.get_untracked(),
            stdin.get_untracked(),
        );
        leptos::task::spawn_local(async move {
            let id = match client.nostr_submit(r, m, a, i).await {
                Ok(id) => id,
                Err(e) => return status.set(e.message),
            };
            let short: String = id.chars().take(12).collect();
            status.set(format!("submitted {short}…, waiting for a provider"));
            match client.nostr_result(id).await {
                Ok(r) => {
                    status.set(r.status);
                    output.set(r.output);
                }
                Err(e) => status.set(format!("failed: {e}")),
            }
        });
    };

    view! {
        <section class="jobs-panel nostr-panel" aria-label="Nostr job">
            <h2>"Run on a Nostr provider (NIP-90 kind 5600)"</h2>
            <div class="run-actions">
                <label>"Relays " <input class="nostr-relays" style="width: 16rem" placeholder="ws://127.0.0.1:7777" bind:value=relays/></label>
                <label>"Module URL " <input class="nostr-module" style="width: 22rem" placeholder="https://…/prog.wasm" bind:value=module_url/></label>
                <label>"Arguments " <input class="nostr-args" bind:value=args/></label>
                <label>"Stdin " <input class="nostr-stdin" style="width: 14rem" bind:value=stdin/></label>
                <button class="nostr-submit" on:click=run>"Submit job"</button>
            </div>
            <p class="run-status nostr-status" role="status">{move || status.get()}</p>
            <pre class="run-output nostr-output">{move || output.get()}</pre>
        </section>
    }
}
