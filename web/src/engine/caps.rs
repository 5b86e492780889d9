//! The explorer's network capabilities: `/cap/http` and `/cap/ws` in the namespace (so the
//! tree shows them), granted for the Run panel's editable allowlist (default: the page's own
//! origin and `127.0.0.1`, [`crate::proto::default_allowlist`]). Runs and jobs use these
//! instances, in place.

use crate::proto::Conn;
use oanix_core::net::{Allowlist, NetGrant};
use oanix_core::services::{is_capability, HttpFs, WsFs};
use oanix_core::Namespace;
use std::sync::Arc;

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
