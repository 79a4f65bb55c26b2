import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { expect } from "chai";
import { claimPort, freePort } from "../../emulator/ports";

describe("freePort", () => {
  it("gives ports below the kernel's ephemeral range, never the same one twice, each one bindable", async () => {
    const [ephemeralLow] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    const ports: number[] = [];
    for (let i = 0; i < 200; i++) ports.push(await freePort());
    expect(new Set(ports).size, "distinct ports").to.equal(ports.length);
    for (const port of ports) expect(port).to.be.within(20_000, Number(ephemeralLow) - 1);
    // The last one is free for a server to take.
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(ports.at(-1), "127.0.0.1", resolve);
    });
    server.close();
  });

  it("keeps a port another process was given off this one's list until that process is gone", async () => {
    // Another process of the project (a test file beside this one, another local cloud) was handed a
    // port whose server has not bound yet.
    const module = path.resolve(__dirname, "..", "..", "emulator", "ports.js");
    const script = `
      const { freePort } = require(${JSON.stringify(module)});
      freePort().then((port) => { process.stdout.write(port + "\\n"); setInterval(() => {}, 1000); });`;
    const other = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const gone = new Promise<void>((resolve) => other.once("exit", () => resolve()));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        other.stdout.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
        other.once("exit", (code) => reject(new Error(`the other process exited (${code})`)));
      });
      expect(await claimPort(port), "claimed by the other process").to.equal(false);
      other.kill("SIGKILL");
      await gone;
      expect(await claimPort(port), "its claim went with it").to.equal(true);
      expect(await claimPort(port), "and this process holds it now").to.equal(false);
    } finally {
      if (other.exitCode === null && other.signalCode === null) other.kill("SIGKILL");
    }
  });
});
