//! What the two wasmtime hosts share, the OANIX one ([`crate::Runner`]) and the reference
//! ([`crate::reference::ReferenceRunner`]): an engine whose epoch ticks (timeouts and
//! cancellation), and the memory and table limits a guest grows against.

use std::time::Duration;
use wasmtime::{Config, Engine, ResourceLimiter};

/// Epoch tick: the granularity of timeouts and cancellation.
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// An engine with epoch interruption and a thread ticking it every [`TICK`] for as long
/// as the engine lives.
pub(crate) fn ticking_engine() -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("oanix-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(TICK);
            }
        })?;
    Ok(engine)
}

/// The guest grew its memory past the limit.
#[derive(Debug)]
pub(crate) struct MemoryLimitHit(pub(crate) usize);
impl std::fmt::Display for MemoryLimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "memory limit of {} bytes exceeded", self.0)
    }
}
impl std::error::Error for MemoryLimitHit {}

/// A store's limits: memory up to `max_memory` (growing past it fails with
/// [`MemoryLimitHit`] and sets `hit`), tables up to a million elements.
pub(crate) struct Limits {
    pub(crate) max_memory: Option<usize>,
    /// Set when the guest tried to grow its memory past `max_memory`.
    pub(crate) hit: bool,
}

impl Limits {
    pub(crate) fn new(max_memory: Option<usize>) -> Self {
        Limits {
            max_memory,
            hit: false,
        }
    }
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        match self.max_memory {
            Some(max) if desired > max => {
                self.hit = true;
                Err(MemoryLimitHit(max).into())
            }
            _ => Ok(true),
        }
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}
