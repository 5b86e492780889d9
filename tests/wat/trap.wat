;; Traps with `unreachable` one call deep (the backtrace names both frames).
(module (memory (export "memory") 1)
  (func $inner unreachable)
  (func (export "_start") call $inner))
