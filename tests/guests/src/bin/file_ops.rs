//! Files through std and raw calls: create, write, read, seek (start/current/end/negative),
//! append, truncate and extend, pread/pwrite, sync, advise, allocate, and the error cases.
use oanix_guests::{io, res};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::wasi::io::AsRawFd;

fn main() {
    let p = "/workspace/out.txt";
    let mut f = File::create(p).unwrap();
    f.write_all(b"hello world").unwrap();
    println!("tell after write: {}", f.stream_position().unwrap());
    println!("seek start 6: {}", f.seek(SeekFrom::Start(6)).unwrap());
    println!(
        "seek current -2: {}",
        f.seek(SeekFrom::Current(-2)).unwrap()
    );
    println!("seek end -5: {}", f.seek(SeekFrom::End(-5)).unwrap());
    println!("seek before start: {}", io(f.seek(SeekFrom::Current(-100))));
    println!("seek past end: {}", f.seek(SeekFrom::End(10)).unwrap());
    drop(f);
    println!("read back: {:?}", fs::read_to_string(p).unwrap());

    let mut a = OpenOptions::new().append(true).open(p).unwrap();
    a.write_all(b"!!").unwrap();
    a.seek(SeekFrom::Start(0)).unwrap();
    a.write_all(b"?").unwrap();
    drop(a);
    println!("after append: {:?}", fs::read_to_string(p).unwrap());

    let f = OpenOptions::new().read(true).write(true).open(p).unwrap();
    f.set_len(5).unwrap();
    println!("len after shrink: {}", f.metadata().unwrap().len());
    f.set_len(8).unwrap();
    let mut buf = Vec::new();
    (&f).read_to_end(&mut buf).unwrap();
    println!("after extend: {buf:?}");
    let fd = f.as_raw_fd() as u32;
    let mut two = [0u8; 3];
    // SAFETY: preview1 calls on an fd this program owns, with valid buffers.
    unsafe {
        let iov = [wasi::Ciovec {
            buf: b"XY".as_ptr(),
            buf_len: 2,
        }];
        println!("pwrite: {:?}", wasi::fd_pwrite(fd, &iov, 1));
        let iov = [wasi::Iovec {
            buf: two.as_mut_ptr(),
            buf_len: 3,
        }];
        let n = wasi::fd_pread(fd, &iov, 0).unwrap();
        println!("pread {n}: {:?}", String::from_utf8_lossy(&two));
        println!("pread past end: {:?}", wasi::fd_pread(fd, &iov, 100));
        println!("position unchanged: {:?}", wasi::fd_tell(fd));
    }
    println!("sync_all: {}", io(f.sync_all()));
    println!("sync_data: {}", io(f.sync_data()));
    // SAFETY: preview1 calls on an fd this program owns.
    println!(
        "advise: {}",
        res(unsafe { wasi::fd_advise(fd, 0, 4, wasi::ADVICE_SEQUENTIAL) })
    );
    println!("allocate: {}", res(unsafe { wasi::fd_allocate(fd, 0, 16) }));
    println!("len after allocate: {}", f.metadata().unwrap().len());
    drop(f);
    fs::write(p, "final content\n").unwrap();

    println!("open missing: {}", io(File::open("/workspace/missing.txt")));
    println!(
        "create_new existing: {}",
        io(OpenOptions::new().write(true).create_new(true).open(p))
    );
    fs::create_dir("/workspace/adir").unwrap();
    println!(
        "open dir for write: {}",
        io(OpenOptions::new().write(true).open("/workspace/adir"))
    );
    println!("read dir as file: {}", io(fs::read("/workspace/adir")));
    let ro = File::open(p).unwrap();
    println!("write to read-only: {}", io((&ro).write(b"x")));
    let wo = OpenOptions::new().write(true).open(p).unwrap();
    println!("read from write-only: {}", io((&wo).read(&mut [0u8; 4])));
    println!(
        "in.txt: {:?}",
        fs::read_to_string("/workspace/in.txt").unwrap()
    );
}
