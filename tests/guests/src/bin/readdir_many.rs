//! fd_readdir over 300 entries: through std, and raw with a 128-byte buffer walking cookies
//! (every entry seen exactly once, across buffer boundaries); then again after deletions.
use std::collections::BTreeSet;
use std::fs;

fn raw_list(dir: &str) -> (usize, BTreeSet<String>) {
    use std::os::wasi::io::AsRawFd;
    let d = fs::File::open(dir).unwrap();
    let fd = d.as_raw_fd() as u32;
    let mut seen = BTreeSet::new();
    let mut dups = 0;
    let mut cookie = 0u64;
    let mut buf = vec![0u8; 128];
    loop {
        // SAFETY: buf is valid for buf.len() bytes.
        let n = unsafe { wasi::fd_readdir(fd, buf.as_mut_ptr(), buf.len(), cookie) }.unwrap();
        let mut off = 0;
        let mut progressed = false;
        while off + 24 <= n {
            let next = u64::from_le_bytes(buf[off..off + 8].try_into().unwrap());
            let namlen = u32::from_le_bytes(buf[off + 16..off + 20].try_into().unwrap()) as usize;
            if off + 24 + namlen > n {
                break; // truncated entry: re-read from its cookie
            }
            let name = String::from_utf8(buf[off + 24..off + 24 + namlen].to_vec()).unwrap();
            if name != "." && name != ".." && !seen.insert(name) {
                dups += 1;
            }
            cookie = next;
            progressed = true;
            off += 24 + namlen;
        }
        if n < buf.len() {
            break;
        }
        if !progressed {
            buf.resize(buf.len() * 2, 0); // one entry larger than the buffer
        }
    }
    (dups, seen)
}

fn main() {
    let dir = "/workspace/many";
    fs::create_dir(dir).unwrap();
    for i in 0..300 {
        let name = format!("{i:03}-{}", "x".repeat(i % 37));
        fs::write(format!("{dir}/{name}"), i.to_string()).unwrap();
    }
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    println!(
        "std: {} entries, first {}, last {}",
        names.len(),
        names[0],
        names[299]
    );
    let (dups, raw) = raw_list(dir);
    println!(
        "raw: {} entries, {} duplicates, same as std: {}",
        raw.len(),
        dups,
        raw.iter().cloned().collect::<Vec<_>>() == names
    );
    for n in names.iter().step_by(2) {
        fs::remove_file(format!("{dir}/{n}")).unwrap();
    }
    let (dups, raw) = raw_list(dir);
    println!(
        "after deleting half: {} entries, {} duplicates",
        raw.len(),
        dups
    );
    println!("first left: {}", raw.iter().next().unwrap());
}
