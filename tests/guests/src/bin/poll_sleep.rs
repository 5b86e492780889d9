//! poll_oneoff: std sleep, two clock subscriptions (the earlier fires), no subscriptions
//! (INVAL), an fd_read subscription on stdin at EOF, sched_yield.
use oanix_guests::res;
use std::time::{Duration, Instant};

fn clock(userdata: u64, ns: u64) -> wasi::Subscription {
    wasi::Subscription {
        userdata,
        u: wasi::SubscriptionU {
            tag: wasi::EVENTTYPE_CLOCK.raw(),
            u: wasi::SubscriptionUU {
                clock: wasi::SubscriptionClock {
                    id: wasi::CLOCKID_MONOTONIC,
                    timeout: ns,
                    precision: 0,
                    flags: 0,
                },
            },
        },
    }
}

fn main() {
    let t = Instant::now();
    std::thread::sleep(Duration::from_millis(50));
    println!(
        "slept at least 50ms: {}",
        t.elapsed() >= Duration::from_millis(50)
    );

    let subs = [clock(1, 30_000_000), clock(2, 10_000_000)];
    let mut events: [wasi::Event; 2] = unsafe { std::mem::zeroed() };
    // SAFETY: the arrays are valid for the given counts.
    let n = unsafe { wasi::poll_oneoff(subs.as_ptr(), events.as_mut_ptr(), 2) }.unwrap();
    println!(
        "two clocks: {n} event(s), first userdata {} error {}",
        events[0].userdata,
        events[0].error.raw()
    );

    let r = unsafe { wasi::poll_oneoff(subs.as_ptr(), events.as_mut_ptr(), 0) };
    println!("no subscriptions: {}", res(r));

    let read = wasi::Subscription {
        userdata: 9,
        u: wasi::SubscriptionU {
            tag: wasi::EVENTTYPE_FD_READ.raw(),
            u: wasi::SubscriptionUU {
                fd_read: wasi::SubscriptionFdReadwrite { file_descriptor: 0 },
            },
        },
    };
    let subs = [read, clock(3, 5_000_000_000)];
    let n = unsafe { wasi::poll_oneoff(subs.as_ptr(), events.as_mut_ptr(), 2) }.unwrap();
    println!(
        "stdin read: {n} event(s), userdata {} type {} error {}",
        events[0].userdata,
        events[0].type_.raw(),
        events[0].error.raw()
    );
    println!("sched_yield: {}", res(unsafe { wasi::sched_yield() }));
}
