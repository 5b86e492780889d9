//! Named namespaces saved in IndexedDB: save the current one under a name, list, open,
//! delete. The explorer autosaves to the current name after every change. `/workspace`
//! lives on OPFS and is shared by all of them (stores keep only its mount point).

use leptos::prelude::*;
use oanix_core::persist::IdbStore;
use oanix_core::services::OpfsFs;
use oanix_core::{FileService, Namespace};
use std::rc::Rc;
use std::sync::Arc;

#[component]
pub fn SavedNamespaces(
    store: StoredValue<Option<Rc<IdbStore>>, LocalStorage>,
    ns: StoredValue<Namespace, LocalStorage>,
    workspace: StoredValue<Option<OpfsFs>, LocalStorage>,
    current: RwSignal<String>,
    changed: WriteSignal<u64>,
    status: RwSignal<String>,
) -> impl IntoView {
    let names = RwSignal::new(Vec::<String>::new());
    let new_name = RwSignal::new(String::new());
    let refresh = move || {
        let Some(db) = store.get_value() else { return };
        leptos::task::spawn_local(async move {
            match db.list().await {
                Ok(list) => names.set(list),
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
        let Some(db) = store.get_value() else { return };
        let snapshot = ns.with_value(Namespace::clone);
        leptos::task::spawn_local(async move {
            match db.save(&n, &snapshot).await {
                Ok(stats) => {
                    status.set(format!("saved as {n} ({} written)", stats.written));
                    current.set(n);
                    new_name.set(String::new());
                }
                Err(e) => status.set(format!("NOT SAVED as {n}: {e}")),
            }
            refresh();
        });
    };
    let open = move |name: String| {
        let Some(db) = store.get_value() else { return };
        leptos::task::spawn_local(async move {
            match db.load(&name).await {
                Ok(Some(loaded)) => {
                    let mut restored = loaded.namespace;
                    // /workspace is the one OPFS directory, shared by every saved namespace.
                    if let Some(opfs) = workspace.get_value() {
                        let _ = restored.unmount("/workspace");
                        let _ =
                            restored.mount("/workspace", Arc::new(opfs) as Arc<dyn FileService>);
                    }
                    // The capabilities stay those granted to this page.
                    ns.with_value(|old| {
                        crate::caps::carry_caps(old, &mut restored);
                        crate::world::carry_live(old, &mut restored);
                    });
                    ns.set_value(restored);
                    current.set(name.clone());
                    changed.update(|c| *c += 1);
                    if !loaded.problems.is_empty() {
                        status.set(format!("opened {name}: {}", loaded.problems.join("; ")));
                    }
                }
                Ok(None) => status.set(format!("{name} is not saved")),
                Err(e) => status.set(format!("cannot open {name}: {e}")),
            }
        });
    };
    let delete = move |name: String| {
        let Some(db) = store.get_value() else { return };
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
            if let Err(e) = db.delete(&name).await {
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
