//! The import table: every `wasi_snapshot_preview1` function with its signature, and one
//! dispatcher that decodes raw arguments and calls the matching [`WasiCtx`] method.
//!
//! Both hosts register imports from [`FUNCS`] and forward calls to [`WasiCtx::dispatch`],
//! so the browser and wasmtime run exactly the same code for every call.

use super::ctx::{Outcome, WasiCtx};
use super::memory::GuestMemory;
use super::types::Errno;

/// A core wasm value type of an import's parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// `i32`.
    I32,
    /// `i64`.
    I64,
}

use Ty::{I32, I64};

/// One entry of the import table ([`FUNCS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncSpec {
    /// The function.
    pub func: Func,
    /// Its import name in [`MODULE`].
    pub name: &'static str,
    /// Its parameters' core wasm types.
    pub params: &'static [Ty],
    /// Whether it returns an errno (`i32`); only `proc_exit` returns nothing.
    pub returns_errno: bool,
}

macro_rules! funcs {
    ($( $variant:ident = $name:literal ( $($ty:ident),* ) $(-> $ret:ident)? ; )*) => {
        /// A preview1 function.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(non_camel_case_types, missing_docs)]
        pub enum Func { $($variant),* }

        /// Every preview1 function with its import name and signature, in [`Func`]'s order.
        pub const FUNCS: &[FuncSpec] = &[
            $( FuncSpec {
                func: Func::$variant,
                name: $name,
                params: &[$($ty),*],
                returns_errno: funcs!(@ret $($ret)?),
            } ),*
        ];
    };
    (@ret errno) => { true };
    (@ret) => { false };
}

funcs! {
    args_get = "args_get"(I32, I32) -> errno;
    args_sizes_get = "args_sizes_get"(I32, I32) -> errno;
    environ_get = "environ_get"(I32, I32) -> errno;
    environ_sizes_get = "environ_sizes_get"(I32, I32) -> errno;
    clock_res_get = "clock_res_get"(I32, I32) -> errno;
    clock_time_get = "clock_time_get"(I32, I64, I32) -> errno;
    fd_advise = "fd_advise"(I32, I64, I64, I32) -> errno;
    fd_allocate = "fd_allocate"(I32, I64, I64) -> errno;
    fd_close = "fd_close"(I32) -> errno;
    fd_datasync = "fd_datasync"(I32) -> errno;
    fd_fdstat_get = "fd_fdstat_get"(I32, I32) -> errno;
    fd_fdstat_set_flags = "fd_fdstat_set_flags"(I32, I32) -> errno;
    fd_fdstat_set_rights = "fd_fdstat_set_rights"(I32, I64, I64) -> errno;
    fd_filestat_get = "fd_filestat_get"(I32, I32) -> errno;
    fd_filestat_set_size = "fd_filestat_set_size"(I32, I64) -> errno;
    fd_filestat_set_times = "fd_filestat_set_times"(I32, I64, I64, I32) -> errno;
    fd_pread = "fd_pread"(I32, I32, I32, I64, I32) -> errno;
    fd_prestat_get = "fd_prestat_get"(I32, I32) -> errno;
    fd_prestat_dir_name = "fd_prestat_dir_name"(I32, I32, I32) -> errno;
    fd_pwrite = "fd_pwrite"(I32, I32, I32, I64, I32) -> errno;
    fd_read = "fd_read"(I32, I32, I32, I32) -> errno;
    fd_readdir = "fd_readdir"(I32, I32, I32, I64, I32) -> errno;
    fd_renumber = "fd_renumber"(I32, I32) -> errno;
    fd_seek = "fd_seek"(I32, I64, I32, I32) -> errno;
    fd_sync = "fd_sync"(I32) -> errno;
    fd_tell = "fd_tell"(I32, I32) -> errno;
    fd_write = "fd_write"(I32, I32, I32, I32) -> errno;
    path_create_directory = "path_create_directory"(I32, I32, I32) -> errno;
    path_filestat_get = "path_filestat_get"(I32, I32, I32, I32, I32) -> errno;
    path_filestat_set_times = "path_filestat_set_times"(I32, I32, I32, I32, I64, I64, I32) -> errno;
    path_link = "path_link"(I32, I32, I32, I32, I32, I32, I32) -> errno;
    path_open = "path_open"(I32, I32, I32, I32, I32, I64, I64, I32, I32) -> errno;
    path_readlink = "path_readlink"(I32, I32, I32, I32, I32, I32) -> errno;
    path_remove_directory = "path_remove_directory"(I32, I32, I32) -> errno;
    path_rename = "path_rename"(I32, I32, I32, I32, I32, I32) -> errno;
    path_symlink = "path_symlink"(I32, I32, I32, I32, I32) -> errno;
    path_unlink_file = "path_unlink_file"(I32, I32, I32) -> errno;
    poll_oneoff = "poll_oneoff"(I32, I32, I32, I32) -> errno;
    proc_exit = "proc_exit"(I32);
    proc_raise = "proc_raise"(I32) -> errno;
    sched_yield = "sched_yield"() -> errno;
    random_get = "random_get"(I32, I32) -> errno;
    sock_accept = "sock_accept"(I32, I32, I32) -> errno;
    sock_recv = "sock_recv"(I32, I32, I32, I32, I32, I32) -> errno;
    sock_send = "sock_send"(I32, I32, I32, I32, I32) -> errno;
    sock_shutdown = "sock_shutdown"(I32, I32) -> errno;
}

/// The import module name.
pub const MODULE: &str = "wasi_snapshot_preview1";

impl Func {
    /// Looks a function up by import name.
    pub fn from_name(name: &str) -> Option<Func> {
        FUNCS.iter().find(|f| f.name == name).map(|f| f.func)
    }

    /// This function's entry of [`FUNCS`].
    pub fn spec(self) -> &'static FuncSpec {
        &FUNCS[self as usize]
    }

    /// This function's import name.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// Whether the call may block (hosts wrap these so the guest can be suspended).
    pub fn may_block(self) -> bool {
        matches!(
            self,
            Func::fd_read | Func::fd_write | Func::fd_pread | Func::fd_pwrite | Func::poll_oneoff
        )
    }
}

/// How an `i32`/`i64` argument is lifted to a witx enum or flags type.
#[derive(Clone, Copy)]
enum Lift {
    /// An enum with a `u8` tag, valid up to this value.
    Enum8(u64),
    /// An enum with a `u32` tag, valid up to this value.
    Enum32(u64),
    /// `u8` flags with these bits.
    Flags8(u64),
    /// `u16` flags with these bits.
    Flags16(u64),
    /// `u32` flags with these bits.
    Flags32(u64),
    /// `u64` flags with these bits.
    Flags64(u64),
}

impl Lift {
    /// Checks a raw argument (an `i32` arrives zero-extended): a value that does not fit
    /// the type's width (so any negative `i32` for a narrower or unsigned type), names no
    /// case, or sets an unknown flag is `EINVAL`. (wasmtime's bindings trap on the first
    /// kind and answer `EINVAL` to the others; a guest gets a clear error either way.)
    fn check(self, raw: i64) -> Result<(), Errno> {
        let v = raw as u64;
        let (width_max, ok) = match self {
            Lift::Enum8(max) => (0xff, v <= max),
            Lift::Enum32(max) => (i32::MAX as u64, v <= max),
            Lift::Flags8(mask) => (0xff, v & !mask == 0),
            Lift::Flags16(mask) => (0xffff, v & !mask == 0),
            Lift::Flags32(mask) => (i32::MAX as u64, v & !mask == 0),
            Lift::Flags64(mask) => (u64::MAX, v & !mask == 0),
        };
        if v > width_max || !ok {
            return Err(Errno::Inval);
        }
        Ok(())
    }
}

/// Known bits of `rights`, `fdflags`, `oflags`, `fstflags`, `lookupflags`.
const RIGHTS: u64 = (1 << 30) - 1;
const FDFLAGS: u64 = 0x1f;
const OFLAGS: u64 = 0xf;
const FSTFLAGS: u64 = 0xf;
const LOOKUP: u64 = 1;

/// The enum and flags arguments of each function (by position), in argument order.
fn lifts(func: Func) -> &'static [(usize, Lift)] {
    use Lift::*;
    match func {
        Func::clock_res_get | Func::clock_time_get => &[(0, Enum32(3))],
        Func::fd_advise => &[(3, Enum8(5))],
        Func::fd_fdstat_set_flags => &[(1, Flags16(FDFLAGS))],
        Func::fd_fdstat_set_rights => &[(1, Flags64(RIGHTS)), (2, Flags64(RIGHTS))],
        Func::fd_filestat_set_times => &[(3, Flags16(FSTFLAGS))],
        Func::fd_seek => &[(2, Enum8(2))],
        Func::path_filestat_get | Func::path_link => &[(1, Flags32(LOOKUP))],
        Func::path_filestat_set_times => &[(1, Flags32(LOOKUP)), (6, Flags16(FSTFLAGS))],
        Func::path_open => &[
            (1, Flags32(LOOKUP)),
            (4, Flags16(OFLAGS)),
            (5, Flags64(RIGHTS)),
            (6, Flags64(RIGHTS)),
            (7, Flags16(FDFLAGS)),
        ],
        Func::proc_raise => &[(0, Enum8(30))],
        Func::sock_accept => &[(1, Flags16(FDFLAGS))],
        Func::sock_recv => &[(3, Flags16(3))],
        Func::sock_send => &[(3, Flags16(0))],
        Func::sock_shutdown => &[(1, Flags8(3))],
        _ => &[],
    }
}

impl WasiCtx {
    /// Runs one preview1 call with raw arguments (i32 values as `i64`, sign-agnostic).
    ///
    /// Wrong argument counts are a host bug and return `EINVAL` rather than panicking.
    pub fn dispatch(&mut self, mem: &mut dyn GuestMemory, func: Func, a: &[i64]) -> Outcome {
        let want = func.spec().params.len();
        if a.len() != want {
            return Outcome::Return(Errno::Inval);
        }
        // Enum and flags arguments are validated before the call, as wasmtime lifts them.
        for &(i, lift) in lifts(func) {
            if let Err(e) = lift.check(a[i]) {
                return Outcome::Return(e);
            }
        }
        let u = |i: usize| a[i] as u32;
        let w = |i: usize| a[i] as u64;
        let r = |r: Result<(), Errno>| Outcome::from_result(r);
        let o = |r: Result<Outcome, Errno>| r.unwrap_or_else(Outcome::Return);
        match func {
            Func::args_get => r(self.args_get(mem, u(0), u(1))),
            Func::args_sizes_get => r(self.args_sizes_get(mem, u(0), u(1))),
            Func::environ_get => r(self.environ_get(mem, u(0), u(1))),
            Func::environ_sizes_get => r(self.environ_sizes_get(mem, u(0), u(1))),
            Func::clock_res_get => r(self.clock_res_get(mem, u(0), u(1))),
            Func::clock_time_get => r(self.clock_time_get(mem, u(0), w(1), u(2))),
            Func::fd_advise => r(self.fd_advise(u(0), w(1), w(2), u(3))),
            Func::fd_allocate => r(self.fd_allocate(u(0), w(1), w(2))),
            Func::fd_close => r(self.fd_close(u(0))),
            Func::fd_datasync => r(self.fd_datasync(u(0))),
            Func::fd_fdstat_get => r(self.fd_fdstat_get(mem, u(0), u(1))),
            Func::fd_fdstat_set_flags => r(self.fd_fdstat_set_flags(u(0), u(1) as u16)),
            Func::fd_fdstat_set_rights => r(self.fd_fdstat_set_rights(u(0), w(1), w(2))),
            Func::fd_filestat_get => r(self.fd_filestat_get(mem, u(0), u(1))),
            Func::fd_filestat_set_size => r(self.fd_filestat_set_size(u(0), w(1))),
            Func::fd_filestat_set_times => {
                r(self.fd_filestat_set_times(u(0), w(1), w(2), u(3) as u16))
            }
            Func::fd_pread => o(self.fd_pread(mem, u(0), u(1), u(2), w(3), u(4))),
            Func::fd_prestat_get => r(self.fd_prestat_get(mem, u(0), u(1))),
            Func::fd_prestat_dir_name => r(self.fd_prestat_dir_name(mem, u(0), u(1), u(2))),
            Func::fd_pwrite => o(self.fd_pwrite(mem, u(0), u(1), u(2), w(3), u(4))),
            Func::fd_read => o(self.fd_read(mem, u(0), u(1), u(2), u(3))),
            Func::fd_readdir => r(self.fd_readdir(mem, u(0), u(1), u(2), w(3), u(4))),
            Func::fd_renumber => r(self.fd_renumber(u(0), u(1))),
            Func::fd_seek => r(self.fd_seek(mem, u(0), a[1], u(2) as u8, u(3))),
            Func::fd_sync => r(self.fd_sync(u(0))),
            Func::fd_tell => r(self.fd_tell(mem, u(0), u(1))),
            Func::fd_write => o(self.fd_write(mem, u(0), u(1), u(2), u(3))),
            Func::path_create_directory => r(self.path_create_directory(mem, u(0), u(1), u(2))),
            Func::path_filestat_get => r(self.path_filestat_get(mem, u(0), u(1), u(2), u(3), u(4))),
            Func::path_filestat_set_times => r(self.path_filestat_set_times(
                mem,
                u(0),
                u(1),
                u(2),
                u(3),
                w(4),
                w(5),
                u(6) as u16,
            )),
            Func::path_link => r(self.path_link(mem, u(0), u(1), u(2), u(3), u(4), u(5), u(6))),
            Func::path_open => r(self.path_open(
                mem,
                u(0),
                u(1),
                u(2),
                u(3),
                u(4) as u16,
                w(5),
                w(6),
                u(7) as u16,
                u(8),
            )),
            Func::path_readlink => r(self.path_readlink(mem, u(0), u(1), u(2), u(3), u(4), u(5))),
            Func::path_remove_directory => r(self.path_remove_directory(mem, u(0), u(1), u(2))),
            Func::path_rename => r(self.path_rename(mem, u(0), u(1), u(2), u(3), u(4), u(5))),
            Func::path_symlink => r(self.path_symlink(mem, u(0), u(1), u(2), u(3), u(4))),
            Func::path_unlink_file => r(self.path_unlink_file(mem, u(0), u(1), u(2))),
            Func::poll_oneoff => o(self.poll_oneoff(mem, u(0), u(1), u(2), u(3))),
            Func::proc_exit => self.proc_exit(u(0)),
            Func::proc_raise => r(self.proc_raise(u(0))),
            Func::sched_yield => r(self.sched_yield()),
            Func::random_get => r(self.random_get(mem, u(0), u(1))),
            Func::sock_accept => r(self.sock_accept(u(0))),
            Func::sock_recv => r(self.sock_recv(u(0))),
            Func::sock_send => r(self.sock_send(u(0))),
            Func::sock_shutdown => r(self.sock_shutdown(u(0))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_finds_each_functions_own_entry() {
        for f in FUNCS {
            assert_eq!(f.func.spec(), f);
            assert_eq!(f.func.name(), f.name);
        }
    }

    #[test]
    fn table_has_every_preview1_function_once() {
        assert_eq!(FUNCS.len(), 46);
        let mut names: Vec<&str> = FUNCS.iter().map(|f| f.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 46);
        assert_eq!(Func::from_name("fd_write"), Some(Func::fd_write));
        assert_eq!(Func::from_name("nope"), None);
    }
}
