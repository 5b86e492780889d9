//! path_symlink, path_readlink, nofollow lookups, dangling links, loops (ELOOP), hard links.
use oanix_guests::{io, res, workspace_fd};
use std::fs;

/// path_symlink relative to the workspace preopen (std's wrapper is unstable).
fn symlink_path(target: &str, link: String) -> std::io::Result<()> {
    let name = link.strip_prefix("/workspace/").unwrap();
    // SAFETY: preview1 call with valid strings.
    unsafe { wasi::path_symlink(target, workspace_fd(), name) }
        .map_err(|e| std::io::Error::from_raw_os_error(e.raw() as i32))
}

fn nlink(name: &str) -> u64 {
    // SAFETY: preview1 call with a valid string.
    unsafe { wasi::path_filestat_get(workspace_fd(), 0, name) }
        .unwrap()
        .nlink
}

fn main() {
    let w = "/workspace";
    fs::write(format!("{w}/target.txt"), "through the link").unwrap();
    println!(
        "symlink: {}",
        io(symlink_path("target.txt", format!("{w}/link")))
    );
    println!(
        "readlink: {:?}",
        fs::read_link(format!("{w}/link")).unwrap()
    );
    println!(
        "read via link: {}",
        fs::read_to_string(format!("{w}/link")).unwrap()
    );
    let l = fs::symlink_metadata(format!("{w}/link")).unwrap();
    let m = fs::metadata(format!("{w}/link")).unwrap();
    println!(
        "lstat is symlink: {}, stat is file: {}",
        l.file_type().is_symlink(),
        m.is_file()
    );
    println!(
        "symlink over existing: {}",
        io(symlink_path("x", format!("{w}/link")))
    );
    symlink_path("nowhere", format!("{w}/dangling")).unwrap();
    println!("open dangling: {}", io(fs::read(format!("{w}/dangling"))));
    println!(
        "lstat dangling is symlink: {}",
        fs::symlink_metadata(format!("{w}/dangling"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    symlink_path("loop_b", format!("{w}/loop_a")).unwrap();
    symlink_path("loop_a", format!("{w}/loop_b")).unwrap();
    let fd = workspace_fd();
    // SAFETY: preview1 calls with valid strings.
    let r = unsafe {
        wasi::path_open(
            fd,
            wasi::LOOKUPFLAGS_SYMLINK_FOLLOW,
            "loop_a",
            0,
            wasi::RIGHTS_FD_READ,
            0,
            0,
        )
    };
    println!("open loop: {}", res(r));
    let r = unsafe { wasi::path_open(fd, 0, "link", 0, wasi::RIGHTS_FD_READ, 0, 0) };
    println!("open link nofollow: {}", res(r));
    println!("escape via link: {}", {
        symlink_path("../..", format!("{w}/up")).unwrap();
        oanix_guests::escape(unsafe {
            wasi::path_open(
                fd,
                wasi::LOOKUPFLAGS_SYMLINK_FOLLOW,
                "up/etc",
                0,
                wasi::RIGHTS_FD_READ,
                0,
                0,
            )
        })
    });
    fs::create_dir(format!("{w}/d")).unwrap();
    symlink_path("d", format!("{w}/dlink")).unwrap();
    fs::write(format!("{w}/dlink/inside.txt"), "via dir link").unwrap();
    println!(
        "file via dir link: {}",
        fs::read_to_string(format!("{w}/d/inside.txt")).unwrap()
    );
    println!(
        "rmdir on symlink: {}",
        io(fs::remove_dir(format!("{w}/dlink")))
    );
    println!(
        "unlink dir link: {}",
        io(fs::remove_file(format!("{w}/dlink")))
    );
    println!(
        "readlink on file: {}",
        io(fs::read_link(format!("{w}/target.txt")))
    );

    println!(
        "hard link: {}",
        io(fs::hard_link(
            format!("{w}/target.txt"),
            format!("{w}/hard.txt")
        ))
    );
    fs::write(format!("{w}/hard.txt"), "changed through hard link").unwrap();
    println!(
        "target now: {}",
        fs::read_to_string(format!("{w}/target.txt")).unwrap()
    );
    println!("nlink: {}", nlink("target.txt"));
    println!(
        "hard link to dir: {}",
        io(fs::hard_link(format!("{w}/d"), format!("{w}/d2")))
    );
    println!(
        "hard link over existing: {}",
        io(fs::hard_link(
            format!("{w}/target.txt"),
            format!("{w}/link")
        ))
    );
    fs::remove_file(format!("{w}/hard.txt")).unwrap();
    println!("nlink after unlink: {}", nlink("target.txt"));
    fs::remove_file(format!("{w}/loop_a")).unwrap();
    fs::remove_file(format!("{w}/loop_b")).unwrap();
    fs::remove_file(format!("{w}/up")).unwrap();
}
