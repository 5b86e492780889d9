//! `dirfd DIR FILE`: opens the directory `DIR` of `/workspace` as a descriptor, prints
//! `opened`, waits for a line on stdin, then opens `FILE` relative to that descriptor and
//! prints what it holds (or the errno's name). Shows what a directory fd refers to while
//! another program renames things in the same namespace.
use oanix_guests::{res, workspace_fd};
use std::io::{BufRead, Write};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, file) = (&args[0], &args[1]);
    let ws = workspace_fd();
    // SAFETY: plain preview1 calls with valid buffers.
    let dfd = unsafe {
        wasi::path_open(
            ws,
            0,
            dir,
            wasi::OFLAGS_DIRECTORY,
            wasi::RIGHTS_PATH_OPEN | wasi::RIGHTS_FD_READDIR,
            wasi::RIGHTS_FD_READ,
            0,
        )
    };
    let dfd = match dfd {
        Ok(fd) => fd,
        Err(e) => {
            println!("open {dir}: {}", res::<()>(Err(e)));
            std::process::exit(1);
        }
    };
    println!("opened");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).unwrap();
    // SAFETY: as above.
    let fd = unsafe { wasi::path_open(dfd, 0, file, 0, wasi::RIGHTS_FD_READ, 0, 0) };
    let fd = match fd {
        Ok(fd) => fd,
        Err(e) => {
            println!("open {file}: {}", res::<()>(Err(e)));
            return;
        }
    };
    let mut buf = [0u8; 256];
    let iov = wasi::Iovec {
        buf: buf.as_mut_ptr(),
        buf_len: buf.len(),
    };
    // SAFETY: `iov` points into `buf`, alive for the call.
    match unsafe { wasi::fd_read(fd, &[iov]) } {
        Ok(n) => println!("{file}: {}", String::from_utf8_lossy(&buf[..n])),
        Err(e) => println!("read {file}: {}", res::<()>(Err(e))),
    }
}
