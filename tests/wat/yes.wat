;; `yes`: writes "y\n" to stdout until a write fails, then exits with that WASI errno
;; (ENOSPC 51 on a full device, EPIPE 64 on a closed pipe, EIO 29 otherwise).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "y\n")
  (func (export "_start") (local $err i32)
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 2))
    (loop $again
      (local.set $err (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (br_if $again (i32.eqz (local.get $err))))
    (call $exit (local.get $err))))
