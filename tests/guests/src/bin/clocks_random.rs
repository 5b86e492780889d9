//! clock_res_get / clock_time_get for every clock, and random_get.
use oanix_guests::res;
fn main() {
    let clocks = [
        ("realtime", wasi::CLOCKID_REALTIME),
        ("monotonic", wasi::CLOCKID_MONOTONIC),
        ("process_cputime", wasi::CLOCKID_PROCESS_CPUTIME_ID),
        ("thread_cputime", wasi::CLOCKID_THREAD_CPUTIME_ID),
    ];
    for (name, id) in clocks {
        // SAFETY: preview1 calls with plain values.
        let resn = unsafe { wasi::clock_res_get(id) };
        let time = unsafe { wasi::clock_time_get(id, 1) };
        println!(
            "{name}: res {} positive {}, time {}",
            res(resn),
            resn.map(|r| r > 0).unwrap_or(false),
            res(time)
        );
    }
    let now = unsafe { wasi::clock_time_get(wasi::CLOCKID_REALTIME, 1) }.unwrap();
    println!("realtime after 2020: {}", now > 1_577_836_800_000_000_000);
    let mut last = 0;
    let mut ordered = true;
    for _ in 0..1000 {
        let t = unsafe { wasi::clock_time_get(wasi::CLOCKID_MONOTONIC, 1) }.unwrap();
        ordered &= t >= last;
        last = t;
    }
    println!("monotonic non-decreasing: {ordered}");
    // An invalid clock id is left out: wasmtime traps on the bad enum value, OANIX returns
    // INVAL (a documented exception).
    let mut empty = [0u8; 0];
    println!(
        "random 0 bytes: {}",
        res(unsafe { wasi::random_get(empty.as_mut_ptr(), 0) })
    );
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    unsafe {
        wasi::random_get(a.as_mut_ptr(), a.len()).unwrap();
        wasi::random_get(b.as_mut_ptr(), b.len()).unwrap();
    }
    println!("two draws differ: {}", a != b);
    let mut big = vec![0u8; 100_000];
    unsafe { wasi::random_get(big.as_mut_ptr(), big.len()) }.unwrap();
    println!("100000 bytes not all zero: {}", big.iter().any(|&x| x != 0));
}
