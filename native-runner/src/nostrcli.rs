//! The Nostr flags of the CLI: `--relay ws://...` (repeatable) and `--nostr-key FILE`, used
//! by `oanix run --cap nostr` (mounts `/cap/nostr`) and by `oanix provider`.

use clap::Args;
use oanix_core::net::nostr::{parse_relay_url, Keys};
use oanix_core::services::NostrFs;
use oanix_core::Namespace;
use std::path::PathBuf;
use std::sync::Arc;

/// `--relay` and `--nostr-key`.
#[derive(Debug, Clone, Default, Args)]
pub struct NostrArgs {
    /// A Nostr relay (ws:// or wss://), repeatable: `--cap nostr` publishes to and reads
    /// from these (and only these hosts).
    #[arg(long = "relay", value_name = "URL")]
    pub relays: Vec<String>,
    /// The Nostr secret key: a file holding 64 hex digits or an nsec1... (default: a fresh
    /// key for this run).
    #[arg(long = "nostr-key", value_name = "FILE")]
    pub nostr_key: Option<PathBuf>,
}

impl NostrArgs {
    /// Whether any Nostr flag was given.
    pub fn is_empty(&self) -> bool {
        self.relays.is_empty() && self.nostr_key.is_none()
    }

    /// Checks the relay URLs (at least one).
    pub fn relays(&self) -> Result<Vec<String>, String> {
        if self.relays.is_empty() {
            return Err("needs at least one --relay ws://...".into());
        }
        for r in &self.relays {
            parse_relay_url(r).map_err(|e| format!("--relay: {e}"))?;
        }
        Ok(self.relays.clone())
    }

    /// The key from `--nostr-key`, or a generated one.
    pub fn keys(&self) -> Result<Keys, String> {
        match &self.nostr_key {
            None => Ok(Keys::generate()),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| format!("--nostr-key {}: {e}", p.display()))?;
                Keys::parse(&text).map_err(|e| format!("--nostr-key {}: {e}", p.display()))
            }
        }
    }

    /// Mounts `/cap/nostr` when `granted` (`--cap nostr`); refuses Nostr flags without it.
    pub fn mount(&self, granted: bool, ns: &mut Namespace) -> Result<(), String> {
        if !granted {
            return match self.is_empty() {
                true => Ok(()),
                false => Err("--relay/--nostr-key have no effect without --cap nostr".into()),
            };
        }
        let fs =
            NostrFs::new(&self.relays()?, self.keys()?).map_err(|e| format!("--relay: {e}"))?;
        ns.mount("/cap/nostr", Arc::new(fs))
            .map_err(|e| format!("--cap nostr: {e}"))
    }
}
