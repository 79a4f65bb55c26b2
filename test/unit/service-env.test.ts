import { expect } from "chai";
import { Environment } from "../../emulator/environment";
import {
  CHECK_URLS,
  checkServiceEnv,
  envRecord,
  platformServiceEnv,
  withBackendVars,
} from "../../emulator/service-env";
import { ConfigError } from "../../services/common/config";

const settings = {
  apiKey: "k".repeat(20),
  workerSecret: "s".repeat(20),
  envKey: "e".repeat(32),
};

describe("the services' settings, as the emulator builds them", () => {
  it("gives each role the settings its own config module reads, and the caller's overrides on top", () => {
    const controller = envRecord(
      platformServiceEnv(
        { ...settings, controllerEnv: { FAAS_MAX_QUEUE_DEPTH: "7" } },
        "controller",
        CHECK_URLS,
      ),
    );
    expect(controller).to.include({
      FAAS_API_KEY: settings.apiKey,
      FAAS_QUEUE_URL: CHECK_URLS.queueUrl,
      FAAS_DLQ_URL: CHECK_URLS.dlqUrl,
      FAAS_TABLE: CHECK_URLS.table,
      FAAS_MAX_QUEUE_DEPTH: "7",
    });
    const worker = envRecord(platformServiceEnv({ ...settings, workerSlots: 3 }, "worker", CHECK_URLS));
    expect(worker).to.include({ FAAS_WORKER_SLOTS: "3", FAAS_QUEUE_URL: CHECK_URLS.queueUrl });
    expect(worker, "the worker never holds the API key").not.to.have.property("FAAS_API_KEY");
  });

  it("lets the environment's settings win over a backend's defaults", () => {
    const service = platformServiceEnv(
      { ...settings, workerEnv: { FAAS_CODE_DIR: "/chosen" } },
      "worker",
      CHECK_URLS,
    );
    const full = envRecord(
      withBackendVars(service, { FAAS_CODE_DIR: "/backend-default", FAAS_REDIS_URL: "redis://r" }),
    );
    expect(full).to.include({ FAAS_CODE_DIR: "/chosen", FAAS_REDIS_URL: "redis://r" });
  });

  it("refuses what the service would refuse at start, naming the variable", () => {
    const service = withBackendVars(
      platformServiceEnv({ ...settings, apiKey: "short" }, "controller", CHECK_URLS),
      {},
    );
    expect(() => checkServiceEnv(service))
      .to.throw(ConfigError)
      .with.property("message")
      .that.matches(/FAAS_API_KEY: FAAS_API_KEY must be at least 16 characters/);
    const worker = withBackendVars(
      platformServiceEnv({ ...settings, workerEnv: { FAAS_WORKER_SLOTS: "0" } }, "worker", CHECK_URLS),
      { FAAS_CONTROLLER_URL: "http://controller.invalid" },
    );
    expect(() => checkServiceEnv(worker)).to.throw(ConfigError, /FAAS_WORKER_SLOTS/);
  });

  it("fails an environment with a bad setting at once, before it starts anything", async () => {
    const started = Date.now();
    const err = await Environment.start({
      edgePort: 1,
      workers: 1,
      apiKey: settings.apiKey,
      workerSecret: "too-short",
      // A backend that would fail loudly if anything reached it.
      backend: { kind: "process", awsEndpoint: "http://127.0.0.1:1", redisUrl: "redis://127.0.0.1:1" },
    }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as Error).message).to.match(/FAAS_WORKER_SECRET/);
    expect(Date.now() - started).to.be.lessThan(1000);
  });
});
