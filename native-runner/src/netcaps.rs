//! `oanix run --cap http --cap ws --allow-net HOSTS`: network capabilities for the CLI.
//!
//! `--cap http` mounts `/cap/http` (`HttpFs`), `--cap ws` mounts `/cap/ws` (`WsFs`), both
//! limited to the `--allow-net` hosts (repeated or comma-separated: `127.0.0.1`,
//! `example.org`, `*.example.org`, optional `:port`). Without `--cap` the guest has no
//! network at all.

use clap::{Args, ValueEnum};
use oanix_core::net::{Allowlist, NetGrant};
use oanix_core::services::{HttpFs, WsFs};
use oanix_core::Namespace;
use std::sync::Arc;

/// A capability `--cap` can grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Cap {
    /// `/cap/http`: HTTP requests as files.
    Http,
    /// `/cap/ws`: WebSockets as files.
    Ws,
    /// `/cap/nostr`: NIP-90 jobs as files, on the `--relay` relays (see `nostrcli`).
    Nostr,
}

/// The network flags of `oanix run`.
#[derive(Debug, Clone, Default, Args)]
pub struct NetArgs {
    /// Grant a capability: `http` mounts /cap/http, `ws` mounts /cap/ws (repeatable).
    #[arg(long = "cap", value_name = "CAP")]
    pub caps: Vec<Cap>,
    /// Hosts the granted capabilities may reach: 127.0.0.1, example.org, *.example.org,
    /// with an optional :PORT (repeatable, or comma-separated).
    #[arg(long = "allow-net", value_name = "HOSTS")]
    pub allow_net: Vec<String>,
}

impl NetArgs {
    /// Whether any network flag was given.
    pub fn is_empty(&self) -> bool {
        self.caps.is_empty() && self.allow_net.is_empty()
    }

    /// The grant the flags describe (`None` without `--cap`); refuses `--allow-net` without
    /// `--cap`, `--cap` without `--allow-net` (nothing would be reachable), and bad hosts.
    pub fn grant(&self) -> Result<Option<NetGrant>, String> {
        // `--cap nostr` reaches its `--relay` relays only (nostrcli), not `--allow-net`.
        if !self.caps.iter().any(|c| matches!(c, Cap::Http | Cap::Ws)) {
            return match self.allow_net.is_empty() {
                true => Ok(None),
                false => Err("--allow-net has no effect without --cap http or --cap ws".into()),
            };
        }
        if self.allow_net.is_empty() {
            return Err("--cap needs --allow-net HOSTS (nothing would be reachable)".into());
        }
        let allow = Allowlist::parse(&self.allow_net).map_err(|e| format!("--allow-net: {e}"))?;
        Ok(Some(NetGrant::new(allow)))
    }

    /// Mounts the granted capabilities into `ns`.
    pub fn mount(&self, ns: &mut Namespace) -> Result<(), String> {
        let Some(grant) = self.grant()? else {
            return Ok(());
        };
        if self.caps.contains(&Cap::Http) {
            ns.mount("/cap/http", Arc::new(HttpFs::new(grant.clone())))
                .map_err(|e| format!("--cap http: {e}"))?;
        }
        if self.caps.contains(&Cap::Ws) {
            ns.mount("/cap/ws", Arc::new(WsFs::new(grant)))
                .map_err(|e| format!("--cap ws: {e}"))?;
        }
        Ok(())
    }
}
