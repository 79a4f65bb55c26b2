import { readFileSync } from "node:fs";
import net from "node:net";
import { expect } from "chai";
import { freePort } from "../../emulator/ports";

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
});
