;; fd_write with an iovec array outside memory: the errno (EFAULT = 21) becomes the exit code.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (call $exit (call $w (i32.const 1) (i32.const 0xFFFFFFF0) (i32.const 1) (i32.const 8)))))
