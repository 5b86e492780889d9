//! Directories: create, nested create, remove (empty/non-empty), rename with POSIX overwrite
//! rules, and the errors for each misuse.
use oanix_guests::io;
use std::fs;

fn names(p: &str) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

fn main() {
    let w = "/workspace";
    println!("mkdir a: {}", io(fs::create_dir(format!("{w}/a"))));
    println!("mkdir a again: {}", io(fs::create_dir(format!("{w}/a"))));
    println!(
        "mkdir missing parent: {}",
        io(fs::create_dir(format!("{w}/x/y")))
    );
    println!("mkdir -p: {}", io(fs::create_dir_all(format!("{w}/b/c/d"))));
    fs::write(format!("{w}/a/f1"), "one").unwrap();
    fs::write(format!("{w}/a/f2"), "two").unwrap();
    println!("rmdir non-empty: {}", io(fs::remove_dir(format!("{w}/a"))));
    println!("rmdir file: {}", io(fs::remove_dir(format!("{w}/a/f1"))));
    println!("unlink dir: {}", io(fs::remove_file(format!("{w}/b"))));
    println!(
        "file over file: {}",
        io(fs::rename(format!("{w}/a/f1"), format!("{w}/a/f2")))
    );
    println!(
        "f2 now: {}",
        fs::read_to_string(format!("{w}/a/f2")).unwrap()
    );
    fs::create_dir(format!("{w}/empty")).unwrap();
    println!(
        "dir over empty dir: {}",
        io(fs::rename(format!("{w}/b/c"), format!("{w}/empty")))
    );
    println!(
        "dir over non-empty dir: {}",
        io(fs::rename(format!("{w}/empty"), format!("{w}/a")))
    );
    println!(
        "dir into itself: {}",
        io(fs::rename(
            format!("{w}/empty"),
            format!("{w}/empty/d/inner")
        ))
    );
    println!(
        "file over dir: {}",
        io(fs::rename(format!("{w}/a/f2"), format!("{w}/b")))
    );
    println!(
        "dir over file: {}",
        io(fs::rename(format!("{w}/b"), format!("{w}/a/f2")))
    );
    println!(
        "missing source: {}",
        io(fs::rename(format!("{w}/nope"), format!("{w}/nope2")))
    );
    println!(
        "remove_dir_all b: {}",
        io(fs::remove_dir_all(format!("{w}/b")))
    );
    println!("root: {:?}", names(w));
    println!("empty: {:?}", names(&format!("{w}/empty")));
    println!("sub (made by the case): {:?}", names(&format!("{w}/sub")));
}
