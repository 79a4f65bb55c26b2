/**
 * The attacks of the security suite, as function sources. Each is small and bounded: it tries one
 * thing a hostile function would, and returns what it saw so the test can assert the contained
 * outcome. Network attempts go only to 127.0.0.1 — inside a sandbox that is the sandbox's own
 * loopback — and only to ports this test environment opened.
 */
export const ATTACKS = {
  echo: `exports.handler = async (event) => ({ event });`,

  /** Everything a function can learn about its surroundings. */
  looksAround: `
    const fs = require("fs"), os = require("os");
    const tryRead = (p) => { try { return fs.readFileSync(p, "utf8"); } catch (e) { return "ERR " + e.code; } };
    const tryWrite = (p) => { try { fs.writeFileSync(p, "planted"); return "written"; } catch (e) { return "ERR " + e.code; } };
    exports.handler = async (event) => ({
      interfaces: Object.keys(os.networkInterfaces()),
      pids: fs.readdirSync("/proc").filter((p) => /^\\d+$/.test(p)).map(Number),
      root: fs.readdirSync("/").sort(),
      uid: process.getuid(),
      hostname: os.hostname(),
      writeBootstrap: tryWrite("/opt/faas/runtime/bootstrap.js"),
      writeCode: tryWrite("/var/task/index.js"),
      writeEtc: tryWrite("/usr/planted"),
      workerDist: tryRead(event.workerFile || "/etc/passwd"),
      env: process.env,
    });`,

  /** Connects to each given port on 127.0.0.1 and reports how it ended. */
  connects: `
    const net = require("net");
    const attempt = (port) => new Promise((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port });
      s.setTimeout(1000, () => { s.destroy(); resolve("timeout"); });
      s.on("connect", () => { s.destroy(); resolve("connected"); });
      s.on("error", (e) => resolve(e.code));
    });
    exports.handler = async (event) => {
      const out = {};
      for (const port of event.ports) out[port] = await attempt(port);
      return out;
    };`,

  plantsInTmp: `
    const fs = require("fs");
    exports.handler = async () => {
      fs.mkdirSync("/tmp/node_modules/planted", { recursive: true });
      fs.writeFileSync("/tmp/node_modules/planted/index.js", "module.exports = 'pwned'");
      return fs.readdirSync("/tmp");
    };`,
  looksForPlant: `
    const fs = require("fs");
    exports.handler = async () => {
      let required;
      try { required = require("planted"); } catch (e) { required = "ERR " + e.code; }
      return { tmp: fs.readdirSync("/tmp"), required };
    };`,
  fillsTmp: `
    const fs = require("fs");
    exports.handler = async () => {
      const chunk = Buffer.alloc(1024 * 1024, 1);
      let mb = 0;
      try { for (; mb < 1024; mb++) fs.appendFileSync("/tmp/fill", chunk); return { mb, error: null }; }
      catch (e) { return { mb, error: e.code }; } finally { try { fs.unlinkSync("/tmp/fill"); } catch {} }
    };`,

  returnsFunction: `exports.handler = async () => () => 1;`,
  returnsBigInt: `exports.handler = async () => ({ n: 10n });`,
  returnsCycle: `exports.handler = async () => { const a = {}; a.self = a; return a; };`,
  returnsLarge: `exports.handler = async (event) => "x".repeat(event.bytes);`,
  returnsTooMuch: `exports.handler = async () => "x".repeat(7 * 1024 * 1024);`,
  throwsNonError: `exports.handler = async () => { throw { toString() { throw new Error("nope"); } }; };`,
  /** Writes garbage, then a frame header announcing 1 GiB, straight onto the worker's channel. */
  garblesChannel: `
    const fs = require("fs");
    exports.handler = async (event) => {
      if (event.how === "garbage") fs.writeSync(3, Buffer.from([0, 0, 0, 5, 123, 123, 123, 123, 123]));
      else if (event.how === "huge") { const h = Buffer.alloc(4); h.writeUInt32BE(1 << 30); fs.writeSync(3, h); }
      else { const b = Buffer.from('{"type":"bogus"}'); const h = Buffer.alloc(4); h.writeUInt32BE(b.length); fs.writeSync(3, Buffer.concat([h, b])); }
      await new Promise((r) => setTimeout(r, 2000));
      return "unreachable";
    };`,

  /** A child process that holds far more memory than the function was given. */
  childHogsMemory: `
    const { spawn } = require("child_process");
    exports.handler = async () => {
      const child = spawn(process.execPath, ["-e", "const b = Buffer.alloc(1024 * 1024 * 1024, 1); setTimeout(() => console.log(b.length), 5000)"]);
      const code = await new Promise((r) => child.on("exit", (c, s) => r(s || c)));
      return { child: code };
    };`,
  /** A detached child that would live on after its function. */
  leavesDaemon: `
    const { spawn } = require("child_process");
    exports.handler = async (event) => {
      const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", event.marker], { detached: true, stdio: "ignore" });
      child.unref();
      if (event.hang) await new Promise(() => {});
      return { spawned: child.pid };
    };`,
  /** Keeps burning CPU after it returned. */
  spinsInBackground: `
    exports.handler = async () => {
      setInterval(() => { const t = Date.now(); while (Date.now() - t < 40) {} }, 50);
      return "returned";
    };`,
  forks: `
    const { spawn } = require("child_process");
    exports.handler = async (event) => {
      const kids = [];
      let error = null;
      for (let i = 0; i < event.n; i++) {
        try { const c = spawn("/bin/sleep", ["5"], { stdio: "ignore" }); c.on("error", (e) => { error = e.code; }); kids.push(c); }
        catch (e) { error = e.code; break; }
      }
      await new Promise((r) => setTimeout(r, 300));
      const alive = kids.filter((c) => c.pid !== undefined && c.exitCode === null && c.signalCode === null).length;
      for (const c of kids) try { c.kill("SIGKILL"); } catch {}
      return { alive, error };
    };`,
  /**
   * Calls the kernel keyring and io_uring directly (through the system's python3, which the sandbox's
   * read-only /usr holds): errno per call, or "no python3" where the system has none.
   */
  callsKernel: `
    const { spawnSync } = require("child_process");
    const script = [
      "import ctypes, json, sys",
      "libc = ctypes.CDLL(None, use_errno=True)",
      "out = []",
      "for nr, args in json.loads(sys.argv[1]):",
      "    ctypes.set_errno(0); libc.syscall(nr, *args); out.append(ctypes.get_errno())",
      "print(json.dumps(out))",
    ].join("\\n");
    exports.handler = async (event) => {
      const r = spawnSync("/usr/bin/python3", ["-c", script, JSON.stringify(event.calls)], { encoding: "utf8" });
      if (r.error) return { error: r.error.code };
      return { errnos: JSON.parse(r.stdout.trim() || "null"), stderr: r.stderr };
    };`,
  sleeps: `exports.handler = async (event) => { await new Promise((r) => setTimeout(r, event.ms)); return event.ms; };`,
} as const;
