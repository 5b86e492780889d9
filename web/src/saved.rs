//! Named namespaces saved in IndexedDB: save the current one under a name, list, open,
//! delete. The explorer autosaves to the current name after every change. `/workspace`
//! lives on OPFS and is shared by all of them (stores keep only its mount point).

use crate::client::Client;
use leptos::prelude::*;

#[component]
pub fn SavedNamespaces(
    client: Client,
    changed: WriteSignal<u64>,
    status: RwSignal<String>,
) -> impl IntoView {
    let names = RwSignal::new(Vec::<String>::new());
    // The name changes are saved under (empty: nothing is saved).
    let current = RwSignal::new(String::new());
    let new_name = RwSignal::new(String::new());
    let refresh = move || {
        leptos::task::spawn_local(async move {
            match client.saved_list().await {
                Ok(saved) => {
                    names.set(saved.names);
                    current.set(saved.current);
                }
                Err(e) => status.set(format!("cannot list saved namespaces: {e}")),
            }
        });
    };
    refresh();
    let save_as = move |_| {
        let n = new_name.get_untracked().trim().to_string();
        if n.is_empty() {
            status.set("give the namespace a name".into());
            return;
        }
        leptos::task::spawn_local(async move {
            match client.save_as(n.clone()).await {
                Ok(said) => {
                    status.set(said);
                    new_name.set(String::new());
                }
                Err(e) => status.set(format!("NOT SAVED as {n}: {e}")),
            }
            refresh();
        });
    };
    let open = move |name: String| {
        leptos::task::spawn_local(async move {
            match client.open_saved(name.clone()).await {
                Ok(said) => {
                    changed.update(|c| *c += 1);
                    status.set(said);
                }
                Err(e) => status.set(format!("cannot open {name}: {e}")),
            }
            refresh();
        });
    };
    let delete = move |name: String| {
        let sure = web_sys::window()
            .and_then(|w| {
                w.confirm_with_message(&format!("Delete the saved namespace {name}?"))
                    .ok()
            })
            .unwrap_or(false);
        if !sure {
            return;
        }
        leptos::task::spawn_local(async move {
            if let Err(e) = client.delete_saved(name.clone()).await {
                status.set(format!("cannot delete {name}: {e}"));
            }
            refresh();
        });
    };
    view! {
        <details class="saved">
            <summary>{move || match current.get() {
                n if n.is_empty() => "Namespace: (not saved)".to_string(),
                n => format!("Namespace: {n}"),
            }}</summary>
            <div class="saved-panel">
                <ul>
                    {move || names.get().into_iter().map(|n| {
                        let (o, d) = (n.clone(), n.clone());
                        view! {
                            <li>
                                <span>{n}</span>
                                <button class="link" on:click=move |_| open(o.clone())>"open"</button>
                                <button class="link danger" on:click=move |_| delete(d.clone())>"delete"</button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <input type="text" class="save-as-name" placeholder="name" aria-label="Save as" bind:value=new_name/>
                <button class="save-as" on:click=save_as>"Save as"</button>
            </div>
        </details>
    }
}
