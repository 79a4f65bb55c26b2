import http from "node:http";
import net from "node:net";
import { expect } from "chai";
import { HealthChecker } from "../../emulator/health-checker";
import { FAST_TIMING } from "../../emulator/reconciler";

/** A /healthz that answers with whatever status the test sets. */
async function healthz(): Promise<{
  port: number;
  status: { code: number };
  hits: () => number;
  close: () => void;
}> {
  const status = { code: 200 };
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits++;
    res.statusCode = status.code;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    status,
    hits: () => hits,
    close: () => server.close(),
  };
}

const timing = { ...FAST_TIMING, healthCheckIntervalMs: 20, healthCheckGraceMs: 0, unhealthyThreshold: 3 };

describe("the controller's health check", () => {
  it("marks an instance unhealthy after `unhealthyThreshold` failures in a row, once", async () => {
    const target = await healthz();
    const reasons: string[] = [];
    const checker = new HealthChecker({
      timing,
      bootAllowanceMs: 0,
      startedAt: Date.now(),
      target: () => Promise.resolve({ host: "127.0.0.1", port: target.port }),
      checking: () => reasons.length === 0,
      onUnhealthy: (reason) => reasons.push(reason),
    });
    try {
      checker.start();
      await new Promise((r) => setTimeout(r, 150));
      expect(reasons, "healthy while it answers 200").to.deep.equal([]);
      target.status.code = 500;
      await new Promise((r) => setTimeout(r, 300));
      expect(reasons).to.deep.equal(["health check failed 3 times in a row"]);
    } finally {
      checker.stop();
      target.close();
    }
  });

  it("does not count failures before the first answer within the boot allowance", async () => {
    const target = await healthz();
    target.status.code = 503;
    const reasons: string[] = [];
    const checker = new HealthChecker({
      timing,
      bootAllowanceMs: 60_000,
      startedAt: Date.now(),
      target: () => Promise.resolve({ host: "127.0.0.1", port: target.port }),
      checking: () => true,
      onUnhealthy: (reason) => reasons.push(reason),
    });
    try {
      checker.start();
      await new Promise((r) => setTimeout(r, 200));
      expect(target.hits(), "it did check").to.be.greaterThan(3);
      expect(reasons, "a booting container is not failed yet").to.deep.equal([]);
      // Once it has answered, failures count.
      target.status.code = 200;
      await new Promise((r) => setTimeout(r, 60));
      target.status.code = 503;
      await new Promise((r) => setTimeout(r, 200));
      expect(reasons).to.have.length(1);
    } finally {
      checker.stop();
      target.close();
    }
  });
});
