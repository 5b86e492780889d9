// Times the bench guests on browser_wasi_shim: best of 3 runs of `_start` (compile and
// instantiate not included, as for the OANIX figures the module is cached). Parameters come
// from the query string: ?writes=N&mib=M&cpu=S. Results go to #out, then #done appears.
import { WASI, File, OpenFile, ConsoleStdout, PreopenDirectory } from
  "./node_modules/@bjorn3/browser_wasi_shim/dist/index.js";

const q = new URLSearchParams(location.search);
const out = document.getElementById("out");
const log = (line) => { out.textContent += line + "\n"; };

async function best(name, args) {
  const bytes = await (await fetch(`/guests/${name}.wasm`)).arrayBuffer();
  const module = await WebAssembly.compile(bytes);
  let ms = Infinity;
  let stdout = "";
  for (let i = 0; i < 3; i++) {
    let text = "";
    const fds = [
      new OpenFile(new File([])),
      ConsoleStdout.lineBuffered((l) => { text += l + "\n"; }),
      ConsoleStdout.lineBuffered(() => {}),
      new PreopenDirectory("/workspace", new Map()),
    ];
    const wasi = new WASI([name, ...args], [], fds);
    const inst = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport });
    const t = performance.now();
    const code = wasi.start(inst);
    ms = Math.min(ms, performance.now() - t);
    if (code !== 0) throw new Error(`${name} exited with ${code}`);
    stdout = text;
  }
  return { ms, stdout };
}

try {
  const writes = q.get("writes") ?? "20000";
  const mib = q.get("mib") ?? "64";
  const cpu = q.get("cpu") ?? "5";
  let r = await best("write_many", [writes, "0"]);
  log(`browser_wasi_shim: ${writes} x 16-byte fd_write: ${r.ms.toFixed(1)} ms (${r.stdout.trim()})`);
  r = await best("write_many", ["0", mib]);
  log(`browser_wasi_shim: ${mib} MiB write+read in 4 KiB chunks: ${r.ms.toFixed(1)} ms`);
  r = await best("cpu_bound", [cpu]);
  log(`browser_wasi_shim: cpu_bound (scale ${cpu}): ${r.ms.toFixed(1)} ms`);
} catch (e) {
  log(`error: ${e}`);
}
const done = document.createElement("div");
done.id = "done";
document.body.append(done);
