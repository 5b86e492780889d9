;; Loops forever without a single syscall.
(module (memory (export "memory") 1)
  (func (export "_start") (loop br 0)))
