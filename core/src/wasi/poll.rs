//! `poll_oneoff`: clock and fd subscriptions. Nothing blocks here: when nothing is ready
//! the call returns [`Outcome::Wait`] and the host calls it again once something may be,
//! with the deadlines kept across the calls ([`PendingPoll`]).

use super::abi::{Event, Subscription};
use super::ctx::{FdKind, Outcome, PendingPoll, Wait, WasiCtx};
use super::memory::{GuestMemory, MemExt};
use super::types::*;
use crate::clock;
use crate::service::{FileHandle, Interest};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

fn noop_context<T>(f: impl FnOnce(&mut Context<'_>) -> T) -> T {
    let mut cx = Context::from_waker(Waker::noop());
    f(&mut cx)
}

impl WasiCtx {
    /// `poll_oneoff(in, out, nsubscriptions) -> nevents`. Returns `Wait` when nothing is
    /// ready yet; the host waits and calls again (deadlines are kept across the calls).
    pub fn poll_oneoff(
        &mut self,
        mem: &mut dyn GuestMemory,
        in_ptr: u32,
        out_ptr: u32,
        nsubs: u32,
        nevents: u32,
    ) -> Result<Outcome, Errno> {
        if nsubs == 0 {
            return Err(Errno::Inval);
        }
        let size = nsubs.checked_mul(SUBSCRIPTION_SIZE).ok_or(Errno::Fault)?;
        let raw = mem.slice(in_ptr, size)?.into_owned();
        let now = clock::monotonic();
        let resumed = self
            .pending_poll
            .take()
            .filter(|p| p.in_ptr == in_ptr && p.nsubs == nsubs);
        let mut deadlines: Vec<Option<u64>> = Vec::with_capacity(nsubs as usize);
        let mut events: Vec<Event> = Vec::new();
        let mut waits: Vec<(Arc<dyn FileHandle>, Interest)> = Vec::new();
        for (i, s) in raw.chunks_exact(SUBSCRIPTION_SIZE as usize).enumerate() {
            let s = Subscription::decode(s);
            let mut ev = Event::new(s.userdata, s.tag);
            match s.tag {
                eventtype::CLOCK => {
                    let (id, timeout, flags) = (s.id_or_fd, s.timeout, s.flags);
                    // As wasmtime: only the realtime and monotonic clocks can be waited on,
                    // and unknown flags are refused; either fails the whole call.
                    if flags & !SUBSCRIPTION_CLOCK_ABSTIME != 0
                        || !matches!(id, clockid::REALTIME | clockid::MONOTONIC)
                    {
                        return Err(Errno::Inval);
                    }
                    let d = match resumed.as_ref().and_then(|p| p.deadlines[i]) {
                        Some(d) => d,
                        None => match (id, flags & SUBSCRIPTION_CLOCK_ABSTIME != 0) {
                            (clockid::REALTIME, true) => {
                                now.saturating_add(timeout.saturating_sub(clock::now()))
                            }
                            (_, true) => timeout,
                            (_, false) => now.saturating_add(timeout),
                        },
                    };
                    deadlines.push(Some(d));
                    if d <= now {
                        events.push(ev);
                    }
                }
                eventtype::FD_READ | eventtype::FD_WRITE => {
                    deadlines.push(None);
                    let interest = if s.tag == eventtype::FD_READ {
                        Interest::Read
                    } else {
                        Interest::Write
                    };
                    match self.entry(s.id_or_fd).map(|e| e.kind.clone()) {
                        Ok(FdKind::File { handle, pos, .. }) => {
                            match noop_context(|cx| handle.poll_ready(interest, cx)) {
                                Poll::Ready(Ok(())) => {
                                    let avail = match (interest, handle.metadata()) {
                                        (Interest::Read, Ok(m)) if handle.is_seekable() => {
                                            m.size.saturating_sub(pos)
                                        }
                                        (Interest::Read, Ok(m)) => m.size,
                                        _ => 0,
                                    };
                                    ev.set_nbytes(avail);
                                    events.push(ev);
                                }
                                Poll::Ready(Err(e)) => {
                                    ev.set_error(e.errno());
                                    events.push(ev);
                                }
                                Poll::Pending => waits.push((handle, interest)),
                            }
                        }
                        Ok(FdKind::Dir { .. }) | Err(_) => {
                            ev.set_error(Errno::Badf);
                            events.push(ev);
                        }
                    }
                }
                _ => return Err(Errno::Inval),
            }
        }
        if events.is_empty() {
            let deadline = deadlines.iter().flatten().min().copied();
            self.pending_poll = Some(PendingPoll {
                in_ptr,
                nsubs,
                deadlines,
            });
            return Ok(Outcome::Wait(Wait {
                deadline,
                handles: waits,
            }));
        }
        let out: Vec<u8> = events.iter().flat_map(|e| e.0).collect();
        mem.check(nevents, 4)?;
        mem.write(out_ptr, &out)?;
        mem.write_u32(
            nevents,
            u32::try_from(events.len()).map_err(|_| Errno::Overflow)?,
        )?;
        Ok(Outcome::Return(Errno::Success))
    }
}
