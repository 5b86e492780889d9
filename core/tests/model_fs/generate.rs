//! The generator: operations from random words.

use super::{Mode, Op, SLOTS};

/// Names used in paths: short ones collide often; a long and a non-ASCII one check that
/// names pass through unchanged.
const NAMES: &[&str] = &[
    "a",
    "b",
    "a",
    "b",
    "ü-ñ",
    "a-much-longer-file-name-0123456789",
];
/// Components of symlink targets: names, `.`, and `..` (which may climb out of the root).
const TARGET_PARTS: &[&str] = &["a", "b", ".", "..", "a", "b", "zz"];

/// `n` of `parts`, chosen by the base-`parts.len()` digits of `bits`, joined by `/`.
fn pick(mut bits: u64, n: usize, parts: &[&str]) -> String {
    let mut chosen = Vec::new();
    for _ in 0..n {
        chosen.push(parts[(bits % parts.len() as u64) as usize]);
        bits /= parts.len() as u64;
    }
    chosen.join("/")
}

/// One operation per four words (so that shrinking a failing case drops whole operations).
pub(super) fn ops_from_words(words: &[[u64; 4]]) -> Vec<Op> {
    let path = |w: u64| pick(w / 4, if w % 4 == 3 { 2 } else { 1 }, NAMES);
    let target = |w: u64| pick(w / 3, 1 + (w % 3) as usize, TARGET_PARTS);
    // Mostly a few bytes; sometimes a few KiB, so writes cross page-sized boundaries.
    let data = |w: u64| -> Vec<u8> {
        let len = if w.is_multiple_of(8) {
            (w >> 8) % 4000
        } else {
            (w >> 8) % 7
        } as usize;
        let seed = (w >> 24) as u8;
        (0..len)
            .map(|i| seed.wrapping_add((i as u8).wrapping_mul(31)))
            .collect()
    };
    // Offsets up to 6000: past the end of a small file, leaving a hole of zeros.
    let offset = |w: u64| -> u64 {
        if w.is_multiple_of(5) {
            (w >> 40) % 6000
        } else {
            (w >> 40) % 9
        }
    };
    let time = |w: u64| -> Option<u64> {
        // Whole microseconds: every Linux file system here stores them exactly.
        (!w.is_multiple_of(3)).then(|| 1_000_000_000 + (w >> 4) % 3_000_000_000_000 * 1_000)
    };
    let slot = |w: u64| (w % SLOTS as u64) as usize;
    let mut ops = Vec::new();
    for &[k, a, b, c] in words {
        let op = match k % 32 {
            0 | 1 => Op::Mkdir(path(a)),
            2..=4 => Op::WriteAt(path(a), offset(c), data(b)),
            5 => Op::Append(path(a), data(b)),
            6 => Op::Create(path(a)),
            7 => Op::CreateNew(path(a)),
            8 => Op::SetLen(path(a), offset(b)),
            9 => Op::Read(path(a)),
            10 => Op::RemoveFile(path(a)),
            11 => Op::RemoveDir(path(a)),
            12 | 13 => Op::Rename(path(a), path(b)),
            14 => Op::Stat(path(a)),
            15 => Op::Lstat(path(a)),
            16 => Op::Readdir(if a % 3 == 0 { String::new() } else { path(a) }),
            17 | 18 => Op::Symlink(target(b), path(a)),
            19 => Op::Readlink(path(a)),
            20 => Op::Link(path(a), path(b)),
            21 if k % 64 < 32 => Op::Link(path(a), path(b)),
            21 => Op::SetTimes(path(a), time(b), time(c)),
            22 | 23 => {
                let mode = [Mode::R, Mode::W, Mode::Rw, Mode::A][(c % 4) as usize];
                Op::Open(slot(b), path(a), mode)
            }
            24 | 25 => Op::HWrite(slot(a), offset(c), data(b)),
            26 => Op::HAppend(slot(a), data(b)),
            27 => Op::HRead(slot(a)),
            28 => Op::HSetLen(slot(a), offset(b)),
            29 => Op::HStat(slot(a)),
            30 => Op::HSetTimes(slot(a), time(b), time(c)),
            _ => Op::Close(slot(a)),
        };
        ops.push(op);
    }
    ops
}
