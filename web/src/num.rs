//! Numbers typed into the page and shown on it, without core's float parsing and
//! formatting: `str::parse::<f64>` links `dec2flt` (with a 10 KB table) and `{:.1}` links
//! Grisu and Dragon (~10 KB more), for a few labels and two input fields.

/// A finite number as JavaScript's `Number()` reads it (`1.5`, ` 2 `, `1e3`); `None` for
/// blank or non-numeric text.
pub fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    // `new Number(text)` (js-sys's FromStr), infallible: NaN for non-numeric text.
    let n = s
        .parse::<js_sys::Number>()
        .map_or(f64::NAN, |n| n.value_of());
    n.is_finite().then_some(n)
}

/// The longest timeout the page takes, in seconds (as `oanix run --timeout`): 366 days.
const MAX_TIMEOUT_S: f64 = 366.0 * 86_400.0;

/// A timeout typed in seconds: blank, non-numeric or not positive gives `default`; more
/// than 366 days is taken as 366 days (a `Duration` of 1e20 s does not exist).
pub fn timeout(s: &str, default: f64) -> std::time::Duration {
    let secs = parse_number(s).filter(|t| *t > 0.0).unwrap_or(default);
    std::time::Duration::from_secs_f64(secs.clamp(0.001, MAX_TIMEOUT_S))
}

/// `x` (not negative) with one decimal, rounded half up: `12.3`.
pub fn one_decimal(x: f64) -> String {
    // `as` saturates: NaN and negatives give 0.
    let tenths = (x * 10.0 + 0.5) as u64;
    format!("{}.{}", tenths / 10, tenths % 10)
}
