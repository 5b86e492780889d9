// Times the bench guests on browser_wasi_shim: best of 3 runs of `_start` (compile and
// instantiate not included, as for the OANIX figures the module is cached). Parameters come
// from the query string: ?writes=N&mib=M&cpu=S&stats=K. Results go to #out, then #done
// appears. `syscall_bench` times its own phases (SYSCALL_BENCH_TIMES=1): the best of 3 per
// phase is printed, as the OANIX page bench does.
import { WASI, File, OpenFile, ConsoleStdout, PreopenDirectory } from
  "./node_modules/@bjorn3/browser_wasi_shim/dist/index.js";

const q = new URLSearchParams(location.search);
const out = document.getElementById("out");
const log = (line) => { out.textContent += line + "\n"; };

async function best(name, args, env = [], dir = "/workspace") {
  const bytes = await (await fetch(`/guests/${name}.wasm`)).arrayBuffer();
  const module = await WebAssembly.compile(bytes);
  let ms = Infinity;
  let stdout = "";
  const runs = [];
  for (let i = 0; i < 3; i++) {
    let text = "";
    const fds = [
      new OpenFile(new File([])),
      ConsoleStdout.lineBuffered((l) => { text += l + "\n"; }),
      ConsoleStdout.lineBuffered(() => {}),
      new PreopenDirectory(dir, new Map()),
    ];
    const wasi = new WASI([name, ...args], env, fds);
    const inst = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport });
    const t = performance.now();
    const code = wasi.start(inst);
    ms = Math.min(ms, performance.now() - t);
    if (code !== 0) throw new Error(`${name} exited with ${code}`);
    stdout = text;
    runs.push(text);
  }
  return { ms, stdout, runs };
}

// Each "<phase>: <ms> ms" line of the runs' outputs, best of the runs per phase.
function phases(runs) {
  const best = new Map();
  for (const text of runs) {
    for (const line of text.split("\n")) {
      const m = line.match(/^(.*): ([0-9.]+) ms$/);
      if (m) best.set(m[1], Math.min(best.get(m[1]) ?? Infinity, Number(m[2])));
    }
  }
  return best;
}

try {
  const writes = q.get("writes") ?? "20000";
  const mib = q.get("mib") ?? "64";
  const cpu = q.get("cpu") ?? "5";
  const stats = q.get("stats") ?? "10000";
  let r = await best("write_many", [writes, "0"]);
  log(`browser_wasi_shim: ${writes} x 16-byte fd_write: ${r.ms.toFixed(1)} ms (${r.stdout.trim()})`);
  r = await best("write_many", ["0", mib]);
  log(`browser_wasi_shim: ${mib} MiB write+read in 4 KiB chunks: ${r.ms.toFixed(1)} ms`);
  // Issue 11's syscall workloads, to /tmp, each phase timed by the guest.
  r = await best("syscall_bench", [writes, stats, mib, "/tmp"], ["SYSCALL_BENCH_TIMES=1"], "/tmp");
  if (!r.stdout.includes(`big.bin: ${mib} MiB`)) throw new Error(`syscall_bench: ${r.stdout}`);
  for (const [what, ms] of phases(r.runs)) {
    log(`browser_wasi_shim syscalls: ${what}: ${ms.toFixed(1)} ms (best of 3)`);
  }
  r = await best("cpu_bound", [cpu]);
  log(`browser_wasi_shim: cpu_bound (scale ${cpu}): ${r.ms.toFixed(1)} ms`);
} catch (e) {
  log(`error: ${e}`);
}
const done = document.createElement("div");
done.id = "done";
document.body.append(done);
