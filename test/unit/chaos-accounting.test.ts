import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { InvocationView } from "../../contracts";
import { account, deadLettered } from "../../emulator/chaos/accounting";
import { rawFailures, RequestRecord } from "../../emulator/chaos/load";

function view(
  id: string,
  status: InvocationView["status"],
  attempts: number,
  result?: unknown,
): InvocationView {
  return {
    id,
    function: "chaos",
    status,
    result,
    error: null,
    workerId: "w1",
    attempts,
    durationMs: null,
    coldStart: null,
    logs: "",
    enqueuedAt: null,
    finishedAt: null,
  };
}

const accepted = (n: number, kind: "sync" | "async" = "async", status = 202): RequestRecord => ({
  at: 0,
  kind,
  n,
  status,
  latencyMs: 1,
  invocationId: randomUUID(),
  retried: 0,
});

describe("chaos accounting: every accepted invocation followed to its end", () => {
  it("counts completed, lost, executed twice and wrong results", async () => {
    const done = accepted(1);
    const twice = accepted(2);
    const wrong = accepted(3);
    const failed = accepted(4, "sync", 500);
    const stuck = accepted(5);
    const dead = accepted(6);
    const refused: RequestRecord = {
      at: 0,
      kind: "async",
      n: 7,
      status: 503,
      latencyMs: 1,
      error: "ServiceUnavailable",
      retried: 2,
    };
    const wrongSync: RequestRecord = { ...accepted(8, "sync", 200), correct: false };
    const views = new Map<string, InvocationView>([
      [done.invocationId!, view(done.invocationId!, "succeeded", 1, { doubled: 2 })],
      [twice.invocationId!, view(twice.invocationId!, "succeeded", 2, { doubled: 4 })],
      [wrong.invocationId!, view(wrong.invocationId!, "succeeded", 1, { doubled: 7 })],
      [failed.invocationId!, view(failed.invocationId!, "failed", 1)],
      [stuck.invocationId!, view(stuck.invocationId!, "running", 1)],
      [dead.invocationId!, view(dead.invocationId!, "queued", 5)],
      [wrongSync.invocationId!, view(wrongSync.invocationId!, "succeeded", 1, { doubled: 16 })],
    ]);
    const result = await account([done, twice, wrong, failed, stuck, dead, refused, wrongSync], {
      client: {
        getInvocation: (id) => {
          const found = views.get(id);
          return found ? Promise.resolve(found) : Promise.reject(new Error("404"));
        },
      },
      deadLettered: () => Promise.resolve(new Set([dead.invocationId!])),
      timeoutMs: 200,
      intervalMs: 20,
    });
    expect(result).to.deep.equal({
      accepted: 7, // the 503 was never accepted
      completed: 5,
      lost: 1, // stuck: neither ended nor dead-lettered
      executedTwice: 1,
      wrongResults: 2, // a stored result that is not n * 2, and a synchronous answer that was wrong
    });
  });

  it("waits for invocations that end later, and asks the dead-letter queue only about those that did not", async () => {
    const late = accepted(1);
    const started = Date.now();
    let askedDlq = false;
    const result = await account([late], {
      client: {
        getInvocation: (id) =>
          Promise.resolve(
            Date.now() - started > 150 ? view(id, "succeeded", 1, { doubled: 2 }) : view(id, "queued", 0),
          ),
      },
      deadLettered: () => {
        askedDlq = true;
        return Promise.resolve(new Set<string>());
      },
      timeoutMs: 5000,
      intervalMs: 20,
    });
    expect(result).to.include({ accepted: 1, completed: 1, lost: 0 });
    expect(askedDlq).to.equal(false);
  });

  it("reads invocation ids from the dead-letter queue's tasks, skipping what is not a task", async () => {
    const id = randomUUID();
    const ids = await deadLettered({
      resources: { dlqUrl: "http://dlq" },
      clients: {
        sqs: {
          send: () =>
            Promise.resolve({
              $metadata: {},
              Messages: [
                { Body: JSON.stringify({ invocationId: id, mode: "async" }) },
                { Body: "not json" },
                { Body: "{}" },
              ],
            }),
        },
      },
    });
    expect([...ids]).to.deep.equal([id]);
  });

  it("counts raw failed requests apart from what the caller saw", () => {
    const retriedThenOk: RequestRecord = { ...accepted(1), retried: 3 };
    const gaveUp: RequestRecord = {
      ...accepted(2),
      invocationId: undefined,
      error: "ServiceUnavailable",
      retried: 4,
    };
    expect([accepted(3), retriedThenOk, gaveUp].map(rawFailures)).to.deep.equal([0, 3, 5]);
  });
});
