//! The preview1 calls std never makes and no other guest covers: `fd_datasync`,
//! `fd_fdstat_set_rights` (rights may only shrink; what the fd may do afterwards) and
//! `proc_raise`. Prints each outcome. Rights are only exercised with the argument `rights`:
//! wasmtime-wasi 48 no longer implements them (`NOTSUP`), OANIX does (they only shrink), so
//! that part is checked on OANIX alone (native-runner/tests/cli.rs), not in parity cases.
use oanix_guests::res;
use std::fs::File;
use std::io::Write;
use std::os::wasi::io::AsRawFd;

fn main() {
    let mut f = File::create("/workspace/data.txt").unwrap();
    f.write_all(b"durable").unwrap();
    let fd = f.as_raw_fd() as u32;
    // SAFETY: preview1 calls on fds this program owns.
    unsafe {
        println!("datasync file: {}", res(wasi::fd_datasync(fd)));
        println!("datasync bad fd: {}", res(wasi::fd_datasync(999)));
        if std::env::args().nth(1).as_deref() == Some("rights") {
            rights(fd);
        }
        println!("raise ABRT: {}", res(wasi::proc_raise(wasi::SIGNAL_ABRT)));
    }
    println!("done");
}

/// Drops the write right, writes, tries to regain it.
unsafe fn rights(fd: u32) {
    // SAFETY: preview1 calls on an fd this program owns, with valid buffers.
    unsafe {
        let st = wasi::fd_fdstat_get(fd).unwrap();
        let without_write = st.fs_rights_base & !wasi::RIGHTS_FD_WRITE;
        println!(
            "drop write right: {}",
            res(wasi::fd_fdstat_set_rights(
                fd,
                without_write,
                st.fs_rights_inheriting
            ))
        );
        let after = wasi::fd_fdstat_get(fd).unwrap();
        println!(
            "write right left: {}",
            after.fs_rights_base & wasi::RIGHTS_FD_WRITE != 0
        );
        let iov = [wasi::Ciovec {
            buf: b"more".as_ptr(),
            buf_len: 4,
        }];
        println!("write without the right: {}", res(wasi::fd_write(fd, &iov)));
        println!(
            "regain write right: {}",
            res(wasi::fd_fdstat_set_rights(
                fd,
                st.fs_rights_base,
                st.fs_rights_inheriting
            ))
        );
        println!(
            "set rights bad fd: {}",
            res(wasi::fd_fdstat_set_rights(999, 0, 0))
        );
    }
}
