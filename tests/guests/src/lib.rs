//! Helpers shared by the guest programs: deterministic reporting of results and errnos.

/// `ok` or the errno's name (e.g. `NOENT`), for printing.
pub fn res<T>(r: Result<T, wasi::Errno>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => e.name().into(),
    }
}

/// The io::Error's WASI errno name, or `ok`.
pub fn io<T>(r: std::io::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => match e.raw_os_error() {
            Some(code) => ERRNO_NAMES
                .get(code as usize)
                .map_or_else(|| format!("errno {code}"), |n| n.to_string()),
            None => format!("{:?}", e.kind()),
        },
    }
}

/// `PERM_OR_NOTCAPABLE` for either sandbox-escape errno (the spec allows both).
pub fn escape<T>(r: Result<T, wasi::Errno>) -> String {
    match r {
        Err(e) if e == wasi::ERRNO_PERM || e == wasi::ERRNO_NOTCAPABLE => {
            "PERM_OR_NOTCAPABLE".into()
        }
        other => res(other),
    }
}

/// The fd of the `/workspace` preopen (searched, not assumed).
pub fn workspace_fd() -> wasi::Fd {
    for fd in 3..64 {
        // SAFETY: plain preview1 calls with valid buffers.
        let Ok(stat) = (unsafe { wasi::fd_prestat_get(fd) }) else {
            continue;
        };
        let len = unsafe { stat.u.dir.pr_name_len };
        let mut buf = vec![0u8; len];
        if unsafe { wasi::fd_prestat_dir_name(fd, buf.as_mut_ptr(), len) }.is_ok()
            && buf == b"/workspace"
        {
            return fd;
        }
    }
    panic!("no /workspace preopen");
}

/// preview1 `errno` names by value (std's io::Error carries only the raw code).
const ERRNO_NAMES: [&str; 77] = [
    "SUCCESS",
    "2BIG",
    "ACCES",
    "ADDRINUSE",
    "ADDRNOTAVAIL",
    "AFNOSUPPORT",
    "AGAIN",
    "ALREADY",
    "BADF",
    "BADMSG",
    "BUSY",
    "CANCELED",
    "CHILD",
    "CONNABORTED",
    "CONNREFUSED",
    "CONNRESET",
    "DEADLK",
    "DESTADDRREQ",
    "DOM",
    "DQUOT",
    "EXIST",
    "FAULT",
    "FBIG",
    "HOSTUNREACH",
    "IDRM",
    "ILSEQ",
    "INPROGRESS",
    "INTR",
    "INVAL",
    "IO",
    "ISCONN",
    "ISDIR",
    "LOOP",
    "MFILE",
    "MLINK",
    "MSGSIZE",
    "MULTIHOP",
    "NAMETOOLONG",
    "NETDOWN",
    "NETRESET",
    "NETUNREACH",
    "NFILE",
    "NOBUFS",
    "NODEV",
    "NOENT",
    "NOEXEC",
    "NOLCK",
    "NOLINK",
    "NOMEM",
    "NOMSG",
    "NOPROTOOPT",
    "NOSPC",
    "NOSYS",
    "NOTCONN",
    "NOTDIR",
    "NOTEMPTY",
    "NOTRECOVERABLE",
    "NOTSOCK",
    "NOTSUP",
    "NOTTY",
    "NXIO",
    "OVERFLOW",
    "OWNERDEAD",
    "PERM",
    "PIPE",
    "PROTO",
    "PROTONOSUPPORT",
    "PROTOTYPE",
    "RANGE",
    "ROFS",
    "SPIPE",
    "SRCH",
    "STALE",
    "TIMEDOUT",
    "TXTBSY",
    "XDEV",
    "NOTCAPABLE",
];
