;; `cat`: copies stdin to stdout as it arrives (one fd_read, then one fd_write of what came)
;; until EOF (exit 0); a failed call exits with its WASI errno.
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $err i32) (local $n i32)
    (loop $again
      ;; iovec at 0: 4096 bytes at 1024; nread at 8
      (i32.store (i32.const 0) (i32.const 1024))
      (i32.store (i32.const 4) (i32.const 4096))
      (local.set $err (call $r (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
      (if (local.get $err) (then (call $exit (local.get $err))))
      (local.set $n (i32.load (i32.const 8)))
      (if (i32.eqz (local.get $n)) (then (return)))
      ;; iovec at 16: n bytes at 1024; nwritten at 24
      (i32.store (i32.const 16) (i32.const 1024))
      (i32.store (i32.const 20) (local.get $n))
      (local.set $err (call $w (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
      (if (local.get $err) (then (call $exit (local.get $err))))
      (br $again))))
