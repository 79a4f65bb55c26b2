/**
 * Chaos experiments against a running local cloud. Each scenario checks the steady-state hypothesis
 * before, during and after its fault, and measures detection, replacement, the Elastic IP serving
 * again, and the return to steady state; afterwards every invocation accepted during the scenario is
 * followed to its end: completed, lost (must be 0) or executed more than once.
 */
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { Environment } from "../environment";
import { LoadGenerator, RequestRecord } from "./load";

export type ScenarioName = "controller-kill" | "worker-kill" | "worker-pause" | "redis-restart" | "queue-cut";
export const ALL_SCENARIOS: ScenarioName[] = [
  "controller-kill",
  "worker-kill",
  "worker-pause",
  "redis-restart",
  "queue-cut",
];

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ScenarioResult {
  name: ScenarioName;
  title: string;
  startedAt: number;
  faultAt: number;
  faultEndAt: number;
  endedAt: number;
  /** Milliseconds after the fault. */
  marks: { detected?: number; replaced?: number; eipServes?: number; steady?: number; reRegistered?: number };
  hypothesis: { before: boolean; during: boolean; after: boolean };
  requests: { total: number; failed: number; failedDuringFault: number };
  invocations: {
    accepted: number;
    completed: number;
    lost: number;
    executedTwice: number;
    wrongResults: number;
  };
  checks: Check[];
  passed: boolean;
}

export interface ChaosSettings {
  heartbeatIntervalMs: number;
  deadAfterMs: number;
  visibilityTimeoutS: number;
  queueCutMs: number;
  redisDownMs: number;
  /** How long to wait for anything to happen (replacement, steady state). */
  patienceMs: number;
}

interface Api {
  get(path: string): Promise<{ status: number; body: unknown }>;
  post(
    path: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: unknown }>;
}

export class ChaosExperiment {
  private readonly api: Api;
  /** Invocations a scenario made itself (the task a victim was running), followed up with the load's. */
  private readonly ownInvocations: RequestRecord[] = [];

  constructor(
    private readonly env: Environment,
    private readonly apiKey: string,
    private readonly load: LoadGenerator,
    private readonly settings: ChaosSettings,
    private readonly log: (line: string) => void,
  ) {
    const call = async (
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) => {
      const res = await fetch(`${env.endpoint}${path}`, {
        method,
        headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        // Longer than a visibility timeout: a message handed to a receive whose worker just died stays
        // invisible that long before another worker gets it (at-least-once, on SQS as on moto).
        signal: AbortSignal.timeout(settings.visibilityTimeoutS * 1000 + 15_000),
      });
      return { status: res.status, body: await res.json().catch((): unknown => undefined) };
    };
    this.api = { get: (p) => call("GET", p), post: (p, b, h) => call("POST", p, b, h) };
  }

  /** Why the steady state does not hold right now (for the journal), or undefined when it holds. */
  private lastViolation: string | undefined;

  /** The steady state: the Elastic IP serves, every worker is registered, and a probe invocation is correct. */
  async steady(): Promise<boolean> {
    this.lastViolation = await this.violation();
    return this.lastViolation === undefined;
  }

  private watchSteady(): { stop: () => Promise<number[]> } {
    const times: number[] = [];
    const state = { stopped: false };
    const loop = (async () => {
      while (!state.stopped) {
        if ((await this.violation()) === undefined) times.push(Date.now());
        await sleep(200);
      }
    })();
    return {
      stop: async () => {
        state.stopped = true;
        await loop;
        return times;
      },
    };
  }

  private async violation(): Promise<string | undefined> {
    try {
      const workers = await this.api.get("/api/workers");
      const desired = this.env.reconciler.group("faas-worker-asg")?.desired ?? 0;
      if (workers.status !== 200) return `GET /api/workers answered ${workers.status}`;
      const registered = (workers.body as { workers: unknown[] }).workers.length;
      if (registered < desired) return `${registered} of ${desired} workers registered`;
      const probe = await this.api.post("/api/functions/chaos/invoke", { n: 21 });
      if (probe.status !== 200 || (probe.body as { doubled?: number }).doubled !== 42) {
        return `probe invocation answered ${probe.status} ${JSON.stringify(probe.body).slice(0, 200)}`;
      }
      return undefined;
    } catch (err) {
      return `probe failed: ${String(err)}`;
    }
  }

  async run(name: ScenarioName): Promise<ScenarioResult> {
    const startedAt = Date.now();
    const result: ScenarioResult = {
      name,
      title: TITLES[name],
      startedAt,
      faultAt: 0,
      faultEndAt: 0,
      endedAt: 0,
      marks: {},
      hypothesis: { before: false, during: false, after: false },
      requests: { total: 0, failed: 0, failedDuringFault: 0 },
      invocations: { accepted: 0, completed: 0, lost: 0, executedTwice: 0, wrongResults: 0 },
      checks: [],
      passed: false,
    };
    const check = (n: string, ok: boolean, detail: string) => result.checks.push({ name: n, ok, detail });
    this.log(`\n=== ${name}: ${result.title}`);
    const settle = this.settings.patienceMs + this.settings.visibilityTimeoutS * 2000;
    result.hypothesis.before = (await this.until(() => this.steady(), settle)) !== undefined;
    check("steady state before the fault", result.hypothesis.before, this.lastViolation ?? "");
    await sleep(1000);

    const scenario = {
      "controller-kill": () => this.controllerKill(result, check),
      "worker-kill": () => this.workerKill(result, check),
      "worker-pause": () => this.workerPause(result, check),
      "redis-restart": () => this.redisRestart(result, check),
      "queue-cut": () => this.queueCut(result, check),
    }[name];
    // Steady state is watched while the scenario waits for its own checks, so the mark says when the
    // system was back, not when the scenario finished waiting.
    const watcher = this.watchSteady();
    let seen: number[];
    try {
      await scenario();
    } finally {
      // Stopped even when the scenario throws: a watcher left polling would keep the process alive.
      seen = await watcher.stop();
    }
    const steadyAt =
      seen.find((t) => t >= result.faultEndAt) ?? (await this.until(() => this.steady(), settle));
    result.hypothesis.after = steadyAt !== undefined;
    if (steadyAt !== undefined) result.marks.steady = steadyAt - result.faultAt;
    check(
      "steady state after the fault",
      result.hypothesis.after,
      steadyAt === undefined
        ? `not back within patience: ${this.lastViolation ?? "?"}`
        : `${ms(result.marks.steady)} after the fault`,
    );
    await sleep(1000);
    result.endedAt = Date.now();

    const records = this.load.between(startedAt, result.endedAt);
    const failed = (r: RequestRecord) => r.error !== undefined;
    result.requests = {
      total: records.length,
      failed: records.filter(failed).length,
      failedDuringFault: records.filter(
        (r) => failed(r) && r.at >= result.faultAt && r.at <= (steadyAt ?? result.endedAt),
      ).length,
    };
    const wrong = records.filter((r) => r.correct === false).length;
    result.invocations = await this.followUp(records, this.ownInvocations.splice(0));
    result.invocations.wrongResults += wrong;
    check(
      "no accepted invocation lost",
      result.invocations.lost === 0,
      `${result.invocations.completed}/${result.invocations.accepted} completed`,
    );
    check(
      "every result correct",
      result.invocations.wrongResults === 0,
      `${result.invocations.wrongResults} wrong`,
    );
    result.passed = result.checks.every((c) => c.ok);
    this.log(
      `    ${result.passed ? "PASSED" : "FAILED"}: ${
        result.checks
          .filter((c) => !c.ok)
          .map((c) => c.name)
          .join(", ") || "all checks held"
      }`,
    );
    return result;
  }

  private async controllerKill(
    r: ScenarioResult,
    check: (n: string, ok: boolean, d: string) => void,
  ): Promise<void> {
    const victim = this.env.live("controller")[0];
    if (victim === undefined) throw new Error("no controller running");
    this.log(`    SIGKILL controller ${victim.instanceId}`);
    r.faultAt = Date.now();
    this.env.kill(victim.instanceId);
    r.hypothesis.during = await this.steady();
    const detected = await this.until(
      () => this.activity(`Terminating EC2 instance: ${victim.instanceId}`, r.faultAt),
      this.settings.patienceMs,
    );
    mark(r, "detected", detected);
    let replacement = "";
    const served = await this.until(async () => {
      const res = await fetch(`${this.env.endpoint}/healthz`).catch(() => undefined);
      if (res?.status !== 200) return false;
      replacement = ((await res.json()) as { instanceId: string }).instanceId;
      return replacement !== victim.instanceId;
    }, this.settings.patienceMs);
    r.faultEndAt = served ?? Date.now();
    mark(r, "eipServes", served);
    const launched = this.env.reconciler
      .list()
      .find((a) => a.instanceId === replacement && a.description.startsWith("Launching"));
    if (launched) r.marks.replaced = Date.parse(launched.startTime) - r.faultAt;
    check(
      "a new controller instance serves at the Elastic IP",
      served !== undefined && replacement !== victim.instanceId,
      `new instance ${replacement || "none"}`,
    );
    const reRegistered = await this.until(async () => {
      const w = await this.api.get("/api/workers");
      const body = w.body as { controllerInstanceId?: string; workers?: unknown[] };
      return (
        w.status === 200 &&
        body.controllerInstanceId === replacement &&
        (body.workers?.length ?? 0) >= (this.env.reconciler.group("faas-worker-asg")?.desired ?? 0)
      );
    }, this.settings.patienceMs);
    mark(r, "reRegistered", reRegistered);
    const margin = this.settings.heartbeatIntervalMs + Math.max(1000, this.settings.heartbeatIntervalMs / 2);
    const within = reRegistered !== undefined && served !== undefined ? reRegistered - served : Infinity;
    check(
      "workers re-register within one heartbeat interval plus a margin",
      within <= margin,
      `${ms(within)} after the new controller served (limit ${ms(margin)})`,
    );
  }

  private async workerKill(
    r: ScenarioResult,
    check: (n: string, ok: boolean, d: string) => void,
  ): Promise<void> {
    const { invocationId, workerId, instanceId } = await this.slowInvocationRunning();
    this.log(`    SIGKILL worker ${instanceId} while it runs ${invocationId}`);
    r.faultAt = Date.now();
    this.env.kill(instanceId);
    r.hypothesis.during = await this.steady();
    mark(
      r,
      "detected",
      await this.until(
        () => this.activity(`Terminating EC2 instance: ${instanceId}`, r.faultAt),
        this.settings.patienceMs,
      ),
    );
    const replaced = await this.until(async () => {
      const launched = this.env.reconciler
        .list()
        .find(
          (a) =>
            a.autoScalingGroupName === "faas-worker-asg" &&
            a.description.startsWith("Launching a new EC2 instance: i-") &&
            Date.parse(a.startTime) >= r.faultAt,
        );
      if (launched?.instanceId === undefined) return false;
      return (await this.registered()).some((x) => x.instanceId === launched.instanceId);
    }, this.settings.patienceMs);
    mark(r, "replaced", replaced);
    r.faultEndAt = replaced ?? Date.now();
    const done = await this.awaitInvocation(
      invocationId,
      this.settings.visibilityTimeoutS * 1000 * 2 + this.settings.patienceMs,
    );
    check(
      "the task comes back and another worker finishes it",
      done?.status === "succeeded" && done.workerId !== workerId,
      `status ${done?.status ?? "?"} on ${done?.workerId ?? "?"}, attempts ${done?.attempts ?? "?"}`,
    );
    const left = await this.until(async () => {
      return !(await this.registered()).some((x) => x.workerId === workerId);
    }, this.settings.deadAfterMs + this.settings.patienceMs);
    check(
      "the dead worker leaves the registry after the dead timeout",
      left !== undefined,
      left === undefined ? "still listed" : `${ms(left - r.faultAt)} after the kill`,
    );
  }

  private async workerPause(
    r: ScenarioResult,
    check: (n: string, ok: boolean, d: string) => void,
  ): Promise<void> {
    const { invocationId, workerId, instanceId } = await this.slowInvocationRunning();
    this.log(`    SIGSTOP worker ${instanceId} while it runs ${invocationId}`);
    r.faultAt = Date.now();
    this.env.pause(instanceId);
    try {
      r.hypothesis.during = await this.steady();
      const dropped = await this.until(async () => {
        return !(await this.registered()).some((x) => x.workerId === workerId);
      }, this.settings.deadAfterMs + this.settings.patienceMs);
      mark(r, "detected", dropped);
      check(
        "the paused worker is dropped from the registry",
        dropped !== undefined,
        dropped === undefined ? "still listed" : `${ms(dropped - r.faultAt)} after the pause`,
      );
      check(
        "a paused worker is not replaced (its process is alive)",
        this.env.live("worker").some((w) => w.instanceId === instanceId),
        "",
      );
      await sleep(Math.min(2000, this.settings.heartbeatIntervalMs));
    } finally {
      this.env.resume(instanceId);
      r.faultEndAt = Date.now();
      this.log(`    SIGCONT worker ${instanceId}`);
    }
    const back = await this.until(async () => {
      return (await this.registered()).some((x) => x.workerId === workerId);
    }, this.settings.patienceMs);
    mark(r, "reRegistered", back);
    check(
      "the resumed worker registers again",
      back !== undefined,
      back === undefined ? "" : `${ms(back - r.faultEndAt)} after the resume`,
    );
    const done = await this.awaitInvocation(
      invocationId,
      this.settings.visibilityTimeoutS * 1000 * 2 + this.settings.patienceMs,
    );
    check(
      "the task it held produces exactly one result",
      done?.status === "succeeded",
      `status ${done?.status ?? "?"}, attempts ${done?.attempts ?? "?"}`,
    );
  }

  private async redisRestart(
    r: ScenarioResult,
    check: (n: string, ok: boolean, d: string) => void,
  ): Promise<void> {
    const redis = this.env.redis;
    if (redis === undefined) throw new Error("Redis is external to this environment: cannot restart it");
    this.log(`    restarting Redis (down ${this.settings.redisDownMs} ms)`);
    r.faultAt = Date.now();
    const restarting = redis.restart(this.settings.redisDownMs);
    await sleep(Math.min(500, this.settings.redisDownMs / 2));
    const during = await this.api
      .post("/api/functions/chaos/invoke", { n: 1 }, { "x-invocation-type": "Event" })
      .catch(() => ({ status: 0, body: undefined }));
    r.hypothesis.during = await this.steady();
    check(
      "invocations while Redis is down are refused with 503",
      during.status === 503,
      `answered ${during.status}`,
    );
    await restarting;
    r.faultEndAt = Date.now();
    mark(r, "detected", r.faultAt);
  }

  private async queueCut(
    r: ScenarioResult,
    check: (n: string, ok: boolean, d: string) => void,
  ): Promise<void> {
    this.log(`    cutting the SQS endpoint for ${this.settings.queueCutMs} ms`);
    r.faultAt = Date.now();
    await this.env.queueEndpoint.setCut(true);
    await sleep(Math.min(500, this.settings.queueCutMs / 2));
    const during = await this.api
      .post("/api/functions/chaos/invoke", { n: 1 }, { "x-invocation-type": "Event" })
      .catch(() => ({ status: 0, body: undefined }));
    r.hypothesis.during = await this.steady();
    await sleep(Math.max(0, this.settings.queueCutMs - (Date.now() - r.faultAt)));
    await this.env.queueEndpoint.setCut(false);
    r.faultEndAt = Date.now();
    check(
      "invocations during the cut are refused with 503",
      during.status === 503,
      `answered ${during.status}`,
    );
    const acceptedDuringCut = this.load
      .between(r.faultAt + 200, r.faultEndAt)
      .filter((x) => x.kind === "async" && x.status === 202).length;
    check(
      "nothing is accepted while the queue is unreachable",
      acceptedDuringCut === 0,
      `${acceptedDuringCut} accepted during the cut`,
    );
    mark(r, "detected", r.faultAt);
  }

  /**
   * Starts a slow invocation and waits until a live worker runs it. On a loaded machine the first one
   * may finish before it is seen running, or queue behind the load: then it tries again.
   */
  private async slowInvocationRunning(): Promise<{
    invocationId: string;
    workerId: string;
    instanceId: string;
  }> {
    const sleepMs = Math.max(3000, this.settings.heartbeatIntervalMs);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const res = await this.api.post(
        "/api/functions/chaos/invoke",
        { n: 7, sleepMs },
        { "x-invocation-type": "Event" },
      );
      const invocationId = (res.body as { invocationId: string }).invocationId;
      this.ownInvocations.push({
        at: Date.now(),
        kind: "async",
        n: 7,
        status: res.status,
        latencyMs: 0,
        invocationId,
      });
      let workerId = "";
      await this.until(async () => {
        const view = (await this.api.get(`/api/invocations/${invocationId}`)).body as {
          status: string;
          workerId: string | null;
        };
        workerId = view.workerId ?? "";
        return view.status === "running";
      }, this.settings.patienceMs);
      await sleep(300);
      const instance = this.env
        .live("worker")
        .find((w) => workerId !== "" && workerId.startsWith(w.instanceId));
      if (instance !== undefined) return { invocationId, workerId, instanceId: instance.instanceId };
      this.log(
        `    invocation ${invocationId} was not seen running on a live worker (${workerId || "none"}); trying again`,
      );
    }
    throw new Error("could not get a slow invocation running on a live worker");
  }

  /** The workers the controller lists now. */
  private async registered(): Promise<{ workerId: string; instanceId: string }[]> {
    const res = await this.api.get("/api/workers");
    return (res.body as { workers: { workerId: string; instanceId: string }[] }).workers;
  }

  private activity(description: string, after: number): boolean {
    return this.env.reconciler
      .list()
      .some((a) => a.description === description && Date.parse(a.startTime) >= after - 5);
  }

  private async awaitInvocation(
    id: string,
    timeoutMs: number,
  ): Promise<{ status: string; workerId: string; attempts: number } | undefined> {
    let view: { status: string; workerId: string; attempts: number } | undefined;
    await this.until(async () => {
      const res = await this.api.get(`/api/invocations/${id}`);
      view = res.body as typeof view;
      return res.status === 200 && view !== undefined && !["queued", "running"].includes(view.status);
    }, timeoutMs);
    return view;
  }

  /** Follows every accepted invocation to its end; what is neither finished nor dead-lettered is lost. */
  private async followUp(
    records: RequestRecord[],
    own: RequestRecord[],
  ): Promise<ScenarioResult["invocations"]> {
    const accepted = [...records, ...own].filter(
      (r) => r.invocationId !== undefined && [200, 202, 500, 504].includes(r.status),
    );
    const ids = new Map(accepted.map((r) => [r.invocationId ?? "", r]));
    const pending = new Set(ids.keys());
    let executedTwice = 0;
    let wrongResults = 0;
    const deadline = Date.now() + this.settings.visibilityTimeoutS * 1000 * 3 + this.settings.patienceMs;
    while (pending.size > 0 && Date.now() < deadline) {
      for (const id of [...pending]) {
        const res = await this.api.get(`/api/invocations/${id}`).catch(() => undefined);
        const view = res?.body as
          { status?: string; attempts?: number; result?: { doubled?: number } } | undefined;
        if (
          res?.status !== 200 ||
          view?.status === undefined ||
          view.status === "queued" ||
          view.status === "running"
        )
          continue;
        pending.delete(id);
        if ((view.attempts ?? 0) > 1) executedTwice++;
        const n = ids.get(id)?.n ?? 0;
        if (view.status === "succeeded" && view.result?.doubled !== n * 2) wrongResults++;
      }
      if (pending.size > 0) await sleep(500);
    }
    const deadLettered = await this.deadLettered();
    const lost = [...pending].filter((id) => !deadLettered.has(id)).length;
    return {
      accepted: accepted.length,
      completed: accepted.length - pending.size,
      lost,
      executedTwice,
      wrongResults,
    };
  }

  private async deadLettered(): Promise<Set<string>> {
    const ids = new Set<string>();
    const out = await this.env.clients.sqs
      .send(
        new ReceiveMessageCommand({
          QueueUrl: this.env.resources.dlqUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 0,
        }),
      )
      .catch(() => undefined);
    for (const m of out?.Messages ?? []) {
      try {
        ids.add((JSON.parse(m.Body ?? "{}") as { invocationId: string }).invocationId);
      } catch {
        // not a task
      }
    }
    return ids;
  }

  /** Polls until `check` is true; the time it became true, or undefined after `timeoutMs`. */
  private async until(
    check: () => Promise<boolean> | boolean,
    timeoutMs: number,
  ): Promise<number | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await Promise.resolve(check()).catch(() => false)) return Date.now();
      await sleep(100);
    }
    return undefined;
  }
}

const TITLES: Record<ScenarioName, string> = {
  "controller-kill": "controller killed (SIGKILL)",
  "worker-kill": "worker killed while running an invocation",
  "worker-pause": "worker paused (SIGSTOP) past the dead timeout, then resumed",
  "redis-restart": "Redis restarted",
  "queue-cut": "SQS endpoint cut",
};

function mark(r: ScenarioResult, key: keyof ScenarioResult["marks"], at: number | undefined): void {
  if (at !== undefined) r.marks[key] = at - r.faultAt;
}

export const ms = (n: number | undefined) =>
  n === undefined || !Number.isFinite(n)
    ? "-"
    : n >= 10_000
      ? `${(n / 1000).toFixed(1)} s`
      : `${Math.round(n)} ms`;
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));
