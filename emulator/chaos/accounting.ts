/**
 * Follows every invocation accepted during a scenario to its end: completed (succeeded, failed or
 * timed out — an end the platform recorded), executed more than once (attempts > 1), wrong (a result
 * that is not n * 2), or lost: neither ended nor in the dead-letter queue when the follow-up gives up.
 */
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { InvocationTask, InvocationView } from "../../contracts";
import { notYet, waitFor, WaitTimeoutError } from "../wait";
import { ChaosClient, ChaosTarget } from "./context";
import { isDoubled, RequestRecord } from "./load";
import { InvocationAccount } from "./result";

/** Answers that mean the platform took the invocation on (504: it runs on, the wait ran out). */
const ACCEPTED_STATUSES = [200, 202, 500, 504];

export interface AccountingDeps {
  client: Pick<ChaosClient, "getInvocation">;
  /** The invocation ids in the dead-letter queue. */
  deadLettered(): Promise<ReadonlySet<string>>;
  /** How long to follow invocations that have not ended. */
  timeoutMs: number;
  intervalMs?: number;
}

export async function account(
  records: readonly RequestRecord[],
  deps: AccountingDeps,
): Promise<InvocationAccount> {
  const accepted = records.filter(
    (r): r is RequestRecord & { invocationId: string } =>
      r.invocationId !== undefined && ACCEPTED_STATUSES.includes(r.status),
  );
  const byId = new Map(accepted.map((r) => [r.invocationId, r]));
  const ended = new Map<string, InvocationView>();
  const follow = async () => {
    for (const id of byId.keys()) {
      if (ended.has(id)) continue;
      const view = await deps.client.getInvocation(id).catch(() => undefined);
      if (view !== undefined && view.status !== "queued" && view.status !== "running") ended.set(id, view);
    }
    return ended.size === byId.size || notYet(`${byId.size - ended.size} of ${byId.size} not ended`);
  };
  await waitFor("every accepted invocation to end", follow, {
    timeoutMs: deps.timeoutMs,
    intervalMs: deps.intervalMs ?? 500,
  }).catch((err: unknown) => {
    if (!(err instanceof WaitTimeoutError)) throw err;
  });

  const views = [...ended.values()];
  const wrongEnds = views.filter(
    (v) => v.status === "succeeded" && !isDoubled(v.result, byId.get(v.id)?.n ?? NaN),
  );
  const pending = [...byId.keys()].filter((id) => !ended.has(id));
  const deadLettered = pending.length > 0 ? await deps.deadLettered() : new Set<string>();
  return {
    accepted: byId.size,
    completed: ended.size,
    lost: pending.filter((id) => !deadLettered.has(id)).length,
    executedTwice: views.filter((v) => v.attempts > 1).length,
    // A synchronous answer that was wrong counts even when the stored result is right.
    wrongResults: wrongEnds.length + records.filter((r) => r.correct === false).length,
  };
}

/** The invocation ids of the tasks in the dead-letter queue (one receive, left visible for others). */
export async function deadLettered(target: Pick<ChaosTarget, "clients" | "resources">): Promise<Set<string>> {
  const out = await target.clients.sqs
    .send(
      new ReceiveMessageCommand({
        QueueUrl: target.resources.dlqUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 0,
      }),
    )
    .catch(() => undefined);
  const ids = new Set<string>();
  for (const m of out?.Messages ?? []) {
    const task = InvocationTask.pick({ invocationId: true }).safeParse(parseJson(m.Body ?? ""));
    if (task.success) ids.add(task.data.invocationId);
  }
  return ids;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
