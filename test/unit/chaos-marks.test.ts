/**
 * The chaos marks are the events' own timestamps: a fake world whose activity log, registry and
 * Elastic IP change at known instants, with probes made slow on purpose, must give marks equal to
 * those instants, however late the scenario got round to looking.
 */
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { PlatformUnreachableError } from "../../client/platform-client";
import { InvocationView, WorkerView } from "../../contracts";
import { ChaosClient, ChaosTarget } from "../../emulator/chaos/context";
import { ChaosSettings } from "../../emulator/chaos/result";
import { runScenario } from "../../emulator/chaos/runner";
import { controllerKill } from "../../emulator/chaos/scenarios/controller-kill";
import { workerKill } from "../../emulator/chaos/scenarios/worker-kill";
import { GROUP } from "../../emulator/environment";
import { ScalingActivity } from "../../emulator/reconciler";

const SETTINGS: ChaosSettings = {
  heartbeatIntervalMs: 500,
  deadAfterMs: 1000,
  visibilityTimeoutS: 1,
  queueCutMs: 500,
  redisDownMs: 500,
  patienceMs: 5000,
};

/** When each event of a fault happens, in milliseconds after the kill. */
const AFTER_KILL = { terminate: 300, launch: 520, serves: 800, registered: 950, dropped: 1100, done: 1200 };

/**
 * A platform of one controller and two workers in memory. `kill` schedules what the reconciler, the
 * registry and the Elastic IP would do, each at its instant. `slowAfterKillMs` makes every probe sent
 * in the first 1.5 s after the kill answer that much later — a sync invocation waiting out a
 * visibility timeout, a registry read on a busy controller.
 */
class FakeWorld {
  readonly activities: ScalingActivity[] = [];
  readonly workers = new Map<string, WorkerView>();
  readonly invocations = new Map<string, InvocationView>();
  controller = "i-ctl1";
  serving: string | undefined = "i-ctl1";
  killedAt: number | undefined;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly slowAfterKillMs: number) {
    for (const id of ["i-w1", "i-w2"]) this.register(id, Date.now());
  }

  readonly target: ChaosTarget = {
    endpoint: "http://fake",
    live: (role) =>
      role === "controller" ? [{ instanceId: this.controller }] : [...this.workers.values()].map((w) => w),
    // The fake's controller is always running: its serving gap is the edge's (`serving`).
    list: () => [{ instanceId: this.controller, role: "controller" as const, state: "running" }],
    kill: (instanceId) => this.kill(instanceId),
    pause: () => undefined,
    resume: () => undefined,
    terminate: () => Promise.resolve(),
    redis: undefined,
    queueEndpoint: { setCut: () => undefined },
    reconciler: {
      list: () => [...this.activities].reverse(),
      group: (name) => (name === GROUP.worker ? { desired: 2 } : { desired: 1 }),
    },
    clients: { sqs: { send: () => Promise.resolve({ Messages: [], $metadata: {} }) } },
    resources: { dlqUrl: "http://fake/dlq" },
  };

  readonly client: ChaosClient = {
    health: () =>
      this.slow(() => {
        if (this.serving === undefined)
          throw new PlatformUnreachableError("http://fake", "503 from the edge");
        return { status: "ok" as const, instanceId: this.serving, serving: "serving" as const };
      }),
    workers: () =>
      this.slow(() => {
        if (this.serving === undefined)
          throw new PlatformUnreachableError("http://fake", "503 from the edge");
        return {
          controllerInstanceId: this.serving,
          filling: false,
          heartbeatIntervalMs: SETTINGS.heartbeatIntervalMs,
          deadAfterMs: SETTINGS.deadAfterMs,
          workers: [...this.workers.values()],
        };
      }),
    invoke: () =>
      this.slow(() => ({
        status: 200,
        body: { doubled: 42 },
        invocationId: randomUUID(),
        workerId: "i-w2-worker",
        durationMs: 1,
        coldStart: false,
        functionError: undefined,
      })),
    invokeAsync: () => {
      const id = randomUUID();
      this.invocations.set(id, view(id, "running", "i-w1-worker", 1));
      return Promise.resolve({ invocationId: id });
    },
    getInvocation: (id) => {
      const found = this.invocations.get(id);
      return found === undefined ? Promise.reject(new Error(`no invocation ${id}`)) : Promise.resolve(found);
    },
  };

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
  }

  private register(instanceId: string, at: number): void {
    this.workers.set(`${instanceId}-worker`, worker(instanceId, at));
  }

  private kill(victim: string): void {
    const killedAt = Date.now();
    this.killedAt = killedAt;
    const at = (ms: number, fn: () => void) => this.timers.push(setTimeout(fn, killedAt + ms - Date.now()));
    const isController = victim === this.controller;
    const group = isController ? GROUP.controller : GROUP.worker;
    const replacement = isController ? "i-ctl2" : "i-w3";
    if (isController) this.serving = undefined;
    at(AFTER_KILL.terminate, () =>
      this.activities.push(activity(group, "terminate", victim, killedAt + AFTER_KILL.terminate)),
    );
    at(AFTER_KILL.launch, () =>
      this.activities.push(activity(group, "launch", replacement, killedAt + AFTER_KILL.launch)),
    );
    if (isController) {
      at(AFTER_KILL.serves, () => {
        this.controller = replacement;
        this.serving = replacement;
        this.workers.clear();
      });
      // The new controller hears from each worker at its own instant.
      at(AFTER_KILL.registered - 100, () => this.register("i-w1", killedAt + AFTER_KILL.registered - 100));
      at(AFTER_KILL.registered, () => this.register("i-w2", killedAt + AFTER_KILL.registered));
      return;
    }
    at(AFTER_KILL.registered, () => this.register(replacement, killedAt + AFTER_KILL.registered));
    at(AFTER_KILL.dropped, () => this.workers.delete(`${victim}-worker`));
    at(AFTER_KILL.done, () => {
      for (const [id, v] of this.invocations)
        if (v.status === "running")
          this.invocations.set(id, { ...view(id, "succeeded", "i-w2-worker", 2), result: { doubled: 14 } });
    });
  }

  /** Answers at once, or `slowAfterKillMs` later when sent soon after the kill. */
  private slow<T>(answer: () => T): Promise<T> {
    const soonAfterKill = this.killedAt !== undefined && Date.now() - this.killedAt < 1500;
    const delay = soonAfterKill ? this.slowAfterKillMs : 0;
    return new Promise<void>((resolve) => setTimeout(resolve, delay)).then(answer);
  }
}

function activity(
  group: string,
  kind: "launch" | "terminate",
  instanceId: string,
  at: number,
): ScalingActivity {
  return {
    activityId: randomUUID(),
    autoScalingGroupName: group,
    kind,
    reason: kind === "launch" ? "capacity" : "unhealthy",
    // Deliberately unlike the reconciler's text: scenarios must not read it.
    description: "something happened",
    cause: "",
    startTime: new Date(at).toISOString(),
    statusCode: "InProgress",
    instanceId,
  };
}

function worker(instanceId: string, registeredAt: number): WorkerView {
  return {
    workerId: `${instanceId}-worker`,
    instanceId,
    status: "alive",
    secondsSinceHeartbeat: 0,
    slotsTotal: 4,
    slotsInUse: 0,
    coldStarts: 0,
    warmStarts: 0,
    registeredAt,
  };
}

function view(
  id: string,
  status: InvocationView["status"],
  workerId: string,
  attempts: number,
): InvocationView {
  return {
    id,
    function: "chaos",
    status,
    error: null,
    workerId,
    attempts,
    durationMs: null,
    coldStart: null,
    logs: "",
    enqueuedAt: null,
    finishedAt: null,
  };
}

async function play(scenario: typeof workerKill | typeof controllerKill, slowAfterKillMs: number) {
  const world = new FakeWorld(slowAfterKillMs);
  try {
    const result = await runScenario(scenario, {
      target: world.target,
      client: world.client,
      load: { between: () => [] },
      settings: SETTINGS,
      log: () => undefined,
      steadyIntervalMs: 50,
    });
    const killedAt = world.killedAt ?? NaN;
    /** A mark as an absolute time, to compare with the fake's own instants. */
    const at = (name: keyof typeof result.marks) => result.faultAt + (result.marks[name] ?? NaN);
    return { result, killedAt, at };
  } finally {
    world.stop();
  }
}

describe("chaos marks come from the events' own timestamps", function () {
  this.timeout(20_000);

  for (const slow of [0, 1200]) {
    it(`worker-kill: detected, replaced and the fault's end are the events' instants (probes ${slow} ms slow)`, async () => {
      const { result, killedAt, at } = await play(workerKill, slow);
      expect(result.checks.filter((c) => !c.ok)).to.deep.equal([]);
      expect(at("detected")).to.equal(killedAt + AFTER_KILL.terminate);
      expect(at("replaced")).to.equal(killedAt + AFTER_KILL.launch);
      expect(result.faultEndAt, "the replacement's registration").to.equal(killedAt + AFTER_KILL.registered);
      expect(result.invocations).to.include({
        accepted: 1,
        completed: 1,
        lost: 0,
        executedTwice: 1,
        wrongResults: 0,
      });
      if (slow > 0) expect(result.endedAt - killedAt, "the scenario looked late").to.be.greaterThan(slow);
    });
  }

  for (const slow of [0, 1200]) {
    it(`controller-kill: detected, replaced and re-registered are the events' instants (probes ${slow} ms slow)`, async () => {
      const { result, killedAt, at } = await play(controllerKill, slow);
      expect(result.checks.filter((c) => !c.ok)).to.deep.equal([]);
      expect(at("detected")).to.equal(killedAt + AFTER_KILL.terminate);
      expect(at("replaced")).to.equal(killedAt + AFTER_KILL.launch);
      expect(at("reRegistered"), "the last worker's registration").to.equal(killedAt + AFTER_KILL.registered);
      // The Elastic IP serving is seen by a probe: the first answer after it happened, whatever the delay.
      expect(at("eipServes")).to.be.at.least(killedAt + AFTER_KILL.serves);
      expect(at("eipServes")).to.be.below(killedAt + AFTER_KILL.serves + slow + 400);
      expect(result.faultEndAt).to.equal(at("eipServes"));
    });
  }
});
