import { EnvSealer } from "../../services/common/env-seal";
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { GetQueueAttributesCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { Redis } from "ioredis";
import { AsyncAccepted, InvocationTask } from "../../contracts";
import { waitFor } from "../../emulator/wait";
import { InvocationStore } from "../../services/common/invocation-store";
import { FUNCTIONS } from "../fixtures/functions";
import { startTestEnvironment, TestEnvironment } from "../fixtures/environment";

describe("delivery: at-least-once in, exactly-once out", function () {
  this.timeout(90_000);
  let t: TestEnvironment;
  let redis: Redis;

  before(async () => {
    t = await startTestEnvironment({ workers: 2 });
    redis = new Redis(t.env.redisUrl);
    const res = await t.api.deploy("counts", FUNCTIONS.counts, { timeoutMs: 10_000 });
    expect(res.status, res.text).to.equal(201);
  });
  after(async () => {
    redis.disconnect();
    await t.env.stop();
  });

  /** Executions of an invocation, as its workers logged them (a function cannot write the host's files). */
  const executions = (invocationId: string) =>
    t.logs.filter((l) => l.includes(invocationId) && l.includes('"msg":"invocation started"')).length;

  async function queueDepth(): Promise<number> {
    const out = await t.env.clients.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: t.env.resources.queueUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    return (
      Number(out.Attributes?.ApproximateNumberOfMessages) +
      Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible)
    );
  }

  it("the same task delivered twice runs once and stores one result", async () => {
    const fn = await t.api.client.getFunction("counts");
    const invocationId = randomUUID();
    const tag = `dup-${invocationId}`;
    const { env, ...taskFunction } = fn;
    const sealer = new EnvSealer(t.env.options.envKey ?? "");
    const task: InvocationTask = {
      invocationId,
      function: taskFunction,
      sealedEnv: sealer.seal(env, { invocationId, functionName: fn.name, version: fn.version }),
      event: { tag, ms: 800 },
      mode: "async",
      enqueuedAt: Date.now(),
    };
    await new InvocationStore(redis, 600).recordQueued(invocationId, fn.name, task.enqueuedAt);
    // Two copies of one task, as SQS may deliver: both workers can pick one up at the same time.
    for (let i = 0; i < 2; i++) {
      await t.env.clients.sqs.send(
        new SendMessageCommand({ QueueUrl: t.env.resources.queueUrl, MessageBody: JSON.stringify(task) }),
      );
    }
    const view = await t.api.awaitInvocation(invocationId);
    expect(view).to.include({ status: "succeeded", attempts: 1 });
    // The second copy comes back after its visibility timeout, finds the result and is deleted unrun.
    await waitFor("both copies deleted", async () => (await queueDepth()) === 0, { timeoutMs: 20_000 });
    expect(executions(invocationId), "executions").to.equal(1);
    expect(await redis.exists(`faas:result:${invocationId}`)).to.equal(1);
  });

  it("a worker killed mid-run: the task comes back, another worker finishes it, attempts counts 2", async () => {
    const tag = `kill-${randomUUID()}`;
    const accepted = await t.api.invokeAsync("counts", { tag, ms: 2000 });
    expect(accepted.status).to.equal(202);
    const id = AsyncAccepted.parse(accepted.body).invocationId;
    let runningOn = "";
    await waitFor(
      "function running",
      async () => {
        const view = await t.api.client.getInvocation(id);
        runningOn = view.workerId ?? "";
        return view.status === "running" && executions(id) === 1;
      },
      { timeoutMs: 10_000 },
    );
    const victim = t.env.list().find((i) => runningOn.startsWith(i.instanceId));
    expect(victim, `instance of worker ${runningOn}`).to.not.equal(undefined);
    t.env.kill(victim!.instanceId);

    const view = await t.api.awaitInvocation(id, 30_000);
    expect(view).to.include({ status: "succeeded", attempts: 2 });
    expect(view.workerId).not.to.equal(runningOn);
    expect(executions(id), "ran again only because its worker died").to.equal(2);
  });
});
