import { expect } from "chai";
import { ConfigError } from "../../services/common/config";
import { loadConfig as controllerConfig } from "../../services/controller/config";
import { loadConfig as workerConfig } from "../../services/worker/config";

const base = {
  FAAS_API_KEY: "k".repeat(20),
  FAAS_WORKER_SECRET: "s".repeat(20),
  FAAS_ENV_KEY: "e".repeat(32),
  FAAS_QUEUE_URL: "http://127.0.0.1:4566/000000000000/faas-tasks",
  FAAS_BUCKET: "faas-code",
  FAAS_TABLE: "faas-functions",
};

describe("configuration", () => {
  it("applies the documented defaults", () => {
    const c = controllerConfig(base);
    expect(c).to.include({
      port: 8080,
      heartbeatIntervalMs: 10_000,
      workerDeadAfterMs: 30_000,
      resultTtlSeconds: 86_400,
    });
    expect(c.eip.claim).to.equal(true);
  });

  it("fails at start with a message naming the variable", () => {
    expect(() => controllerConfig({ ...base, FAAS_PORT: "eighty" })).to.throw(ConfigError, /FAAS_PORT/);
    expect(() => controllerConfig({ ...base, FAAS_API_KEY: "short" })).to.throw(ConfigError, /FAAS_API_KEY/);
    const missing: Record<string, string> = { ...base };
    delete missing.FAAS_QUEUE_URL;
    expect(() => controllerConfig(missing)).to.throw(ConfigError, /FAAS_QUEUE_URL/);
    expect(() => workerConfig({ ...base })).to.throw(ConfigError, /FAAS_CONTROLLER_URL/);
  });

  it("binds the private listener where FAAS_PRIVATE_HOST says, else beside the API; only IP addresses", () => {
    expect(controllerConfig(base)).to.include({ host: "0.0.0.0", privateHost: "0.0.0.0" });
    expect(controllerConfig({ ...base, FAAS_HOST: "127.0.0.1" })).to.include({
      host: "127.0.0.1",
      privateHost: "127.0.0.1",
    });
    // Behind a TLS proxy on the instance (tls_mode = acme): the API on loopback, the heartbeat for the VPC.
    expect(controllerConfig({ ...base, FAAS_HOST: "127.0.0.1", FAAS_PRIVATE_HOST: "0.0.0.0" })).to.include({
      host: "127.0.0.1",
      privateHost: "0.0.0.0",
    });
    expect(controllerConfig({ ...base, FAAS_PRIVATE_HOST: "::" }).privateHost).to.equal("::");
    for (const bad of ["localhost", "0.0.0.0; reboot", "10.0.0.256", " 127.0.0.1", "127.0.0.1:8080"]) {
      expect(() => controllerConfig({ ...base, FAAS_PRIVATE_HOST: bad }), bad).to.throw(
        ConfigError,
        /FAAS_PRIVATE_HOST: must be an IPv4 or IPv6 address/,
      );
      expect(() => controllerConfig({ ...base, FAAS_HOST: bad }), bad).to.throw(ConfigError, /FAAS_HOST/);
    }
  });

  it("shrinks timings for tests through the same variables", () => {
    const w = workerConfig({
      ...base,
      FAAS_CONTROLLER_URL: "http://127.0.0.1:8080/",
      FAAS_HEARTBEAT_INTERVAL_MS: "300",
    });
    expect(w.heartbeatIntervalMs).to.equal(300);
    expect(w.controllerUrl).to.equal("http://127.0.0.1:8080");
    expect(w.pollWaitS).to.equal(20);
  });
});
