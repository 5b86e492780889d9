//! Wall and monotonic clocks that work on every host.
//!
//! `std::time::SystemTime::now()` panics on `wasm32-unknown-unknown`; there we ask the
//! browser (`Date.now()`, `performance.now()`) instead.

/// Nanoseconds since the Unix epoch (the unit of WASI timestamps).
pub type Timestamp = u64;

/// Wall-clock time now, in nanoseconds since the Unix epoch.
#[cfg(not(target_arch = "wasm32"))]
pub fn now() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Wall-clock time now, in nanoseconds since the Unix epoch.
#[cfg(target_arch = "wasm32")]
pub fn now() -> Timestamp {
    (js_sys::Date::now() * 1_000_000.0) as u64
}

/// Monotonic time in nanoseconds since an arbitrary fixed point of this process or page.
#[cfg(not(target_arch = "wasm32"))]
pub fn monotonic() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Monotonic time in nanoseconds since an arbitrary fixed point of this process or page.
/// `performance.now()` (windows and workers alike) through a typed binding: one call, no
/// property lookups or boxed number per read (the browser host reads the clock at every
/// WASI call and tick); `Date.now()` if it is missing.
#[cfg(target_arch = "wasm32")]
pub fn monotonic() -> u64 {
    let ms = performance_now().unwrap_or_else(|_| js_sys::Date::now());
    (ms * 1_000_000.0) as u64
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = performance, js_name = now)]
    fn performance_now() -> Result<f64, wasm_bindgen::JsValue>;
}

#[cfg(test)]
mod tests {
    #[test]
    fn clocks_move_forward() {
        let a = super::monotonic();
        let w = super::now();
        assert!(w > 1_600_000_000_000_000_000, "wall clock is after 2020");
        assert!(super::monotonic() >= a);
    }
}
