//! Placeholder until the instrumenting pass lands (helper branch `instr`).

/// Import module of the tick function.
pub const TICK_MODULE: &str = "oanix";
/// Import name of the tick function.
pub const TICK_NAME: &str = "tick";

/// Checks between two ticks.
pub const DEFAULT_BUDGET: u32 = 10_000;

/// Why a module could not be instrumented.
#[derive(Debug)]
pub struct InstrumentError(pub String);

impl std::fmt::Display for InstrumentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Placeholder: returns the module unchanged.
pub fn instrument(wasm: &[u8], _budget: u32) -> Result<Vec<u8>, InstrumentError> {
    Ok(wasm.to_vec())
}
