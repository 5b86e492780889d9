//! fd/path filestat get and set_times: explicit times read back exactly, *_NOW advances,
//! invalid flag combinations are INVAL, sizes and kinds are right.
use oanix_guests::{res, workspace_fd};
use std::fs;
use std::os::wasi::io::AsRawFd;

fn main() {
    let w = "/workspace";
    fs::write(format!("{w}/f.txt"), "12345").unwrap();
    fs::create_dir(format!("{w}/d")).unwrap();
    let fd = workspace_fd();
    // SAFETY: preview1 calls with valid strings and values.
    unsafe {
        let st = wasi::path_filestat_get(fd, 0, "f.txt").unwrap();
        println!("file: size {} type {}", st.size, st.filetype.raw());
        let st = wasi::path_filestat_get(fd, 0, "d").unwrap();
        println!("dir: type {}", st.filetype.raw());
        println!("missing: {}", res(wasi::path_filestat_get(fd, 0, "nope")));
        let t1 = 1_600_000_000_123_456_789u64;
        let t2 = 1_650_000_000_000_000_001u64;
        let r = wasi::path_filestat_set_times(
            fd,
            0,
            "f.txt",
            t1,
            t2,
            wasi::FSTFLAGS_ATIM | wasi::FSTFLAGS_MTIM,
        );
        println!("set both: {}", res(r));
        let st = wasi::path_filestat_get(fd, 0, "f.txt").unwrap();
        println!("atim {} mtim {}", st.atim, st.mtim);
        let r = wasi::path_filestat_set_times(fd, 0, "f.txt", 0, t1, wasi::FSTFLAGS_MTIM);
        println!("set mtim only: {}", res(r));
        let st = wasi::path_filestat_get(fd, 0, "f.txt").unwrap();
        println!("atim {} mtim {}", st.atim, st.mtim);
        let r = wasi::path_filestat_set_times(fd, 0, "f.txt", 0, 0, wasi::FSTFLAGS_MTIM_NOW);
        println!("set mtim now: {}", res(r));
        let st = wasi::path_filestat_get(fd, 0, "f.txt").unwrap();
        println!("mtim advanced: {}", st.mtim > t1);
        let r = wasi::path_filestat_set_times(
            fd,
            0,
            "f.txt",
            1,
            0,
            wasi::FSTFLAGS_ATIM | wasi::FSTFLAGS_ATIM_NOW,
        );
        println!("ATIM|ATIM_NOW: {}", res(r));
        let r = wasi::path_filestat_set_times(
            fd,
            0,
            "f.txt",
            0,
            1,
            wasi::FSTFLAGS_MTIM | wasi::FSTFLAGS_MTIM_NOW,
        );
        println!("MTIM|MTIM_NOW: {}", res(r));

        let f = fs::OpenOptions::new()
            .write(true)
            .open(format!("{w}/f.txt"))
            .unwrap();
        let ffd = f.as_raw_fd() as u32;
        let r = wasi::fd_filestat_set_times(ffd, t2, t1, wasi::FSTFLAGS_ATIM | wasi::FSTFLAGS_MTIM);
        println!("fd set both: {}", res(r));
        let st = wasi::fd_filestat_get(ffd).unwrap();
        println!("fd atim {} mtim {} size {}", st.atim, st.mtim, st.size);
        println!("fd set_size 2: {}", res(wasi::fd_filestat_set_size(ffd, 2)));
        println!("size now: {}", wasi::fd_filestat_get(ffd).unwrap().size);
        let r = wasi::path_filestat_set_times(
            fd,
            0,
            "d",
            t1,
            t1,
            wasi::FSTFLAGS_ATIM | wasi::FSTFLAGS_MTIM,
        );
        println!("dir set times: {}", res(r));
        let st = wasi::path_filestat_get(fd, 0, "d").unwrap();
        println!("dir mtim {}", st.mtim);
    }
    let m = fs::metadata(format!("{w}/f.txt")).unwrap();
    println!(
        "std: len {} file {} dir {}",
        m.len(),
        m.is_file(),
        m.is_dir()
    );
}
