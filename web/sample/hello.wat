;; The explorer's sample guest: greets in colour, then lists its arguments, and writes
;; /workspace/hello-run.txt so the run's effect shows up in the namespace.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "\1b[32mhello\1b[0m from a \1b[36mWASI\1b[0m guest running in your browser\n")
  (data (i32.const 1200) "/workspace")
  (data (i32.const 1220) "hello-run.txt")
  (data (i32.const 1240) "this file was written by hello.wasm\n")
  ;; write(fd, ptr, len) through one iovec at 0
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
  ;; the fd of the /workspace preopen, or -1
  (func $workspace (result i32) (local $fd i32)
    (local.set $fd (i32.const 3))
    (block $done
      (loop $next
        (br_if $done (i32.ne (call $prestat (local.get $fd) (i32.const 16)) (i32.const 0)))
        (if (i32.eq (i32.load (i32.const 20)) (i32.const 10))
          (then
            (drop (call $dir_name (local.get $fd) (i32.const 64) (i32.const 10)))
            (if (i32.and
                  (i64.eq (i64.load (i32.const 64)) (i64.load (i32.const 1200)))
                  (i32.eq (i32.load16_u (i32.const 72)) (i32.load16_u (i32.const 1208))))
              (then (return (local.get $fd))))))
        (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
        (br $next)))
    (i32.const -1))
  (func (export "_start") (local $dir i32)
    (call $write (i32.const 1) (i32.const 1024) (i32.const 66))
    (local.set $dir (call $workspace))
    (if (i32.ge_s (local.get $dir) (i32.const 0))
      (then
        ;; path_open(dir, 0, "hello-run.txt", CREAT|TRUNC, FD_WRITE, 0, 0, &fd)
        (if (i32.eqz (call $path_open (local.get $dir) (i32.const 0) (i32.const 1220) (i32.const 13)
                        (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 32)))
          (then
            (call $write (i32.load (i32.const 32)) (i32.const 1240) (i32.const 36))
            (drop (call $fd_close (i32.load (i32.const 32))))))))))
