/**
 * The Error metric in `faas dev status` (issue 13): the control API's `/status` counts, per log group,
 * the shipped lines its metric filters count over the last hour — the Terraform's `{ $.level >= 50 }` on
 * the controller group, evaluated by the emulator over what moto holds — incrementally: a second call
 * counts only what is new, a line shipped late (within the agent's flush interval) still counts once,
 * and a line older than the hour does not.
 */
import { expect } from "chai";
import { CreateLogStreamCommand, PutLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { EnvironmentStatus, startAdminServer } from "../../emulator/admin-server";
import { readEvents } from "../../emulator/cloudwatch/log-reader";
import { renderStatus } from "../../emulator/status-table";
import { startTestEnvironment, TestEnvironment } from "../fixtures/environment";

describe("the Error lines of each log group in `faas dev status`", function () {
  this.timeout(60_000);
  let t: TestEnvironment;
  let admin: Awaited<ReturnType<typeof startAdminServer>>;

  before(async () => {
    t = await startTestEnvironment({ workers: 1 });
    admin = await startAdminServer(t.env);
  });
  after(async () => {
    await admin.close();
    await t.env.stop();
  });

  const status = async (): Promise<{ body: EnvironmentStatus; tookMs: number }> => {
    const started = Date.now();
    const res = await fetch(`${admin.url}/status`, { headers: { authorization: `Bearer ${admin.token}` } });
    expect(res.status).to.equal(200);
    return { body: (await res.json()) as EnvironmentStatus, tookMs: Date.now() - started };
  };
  const groupOf = (s: EnvironmentStatus, role: "controller" | "worker") =>
    s.logs?.find((g) => g.group === t.env.resources.logGroups[role]);
  /**
   * A status whose controller count has read up to `since`: each call counts up to its own now, and one
   * that runs out of its 2 s budget (a loaded machine) answers with what it has; the next carries on.
   */
  const statusCovering = async (since: number) => {
    for (let i = 0; ; i++) {
      const s = await status();
      if ((groupOf(s.body, "controller")?.countedUpTo ?? 0) >= since || i === 20) return s;
    }
  };
  /** The count, by parsing every stored line of the group here: not the evaluator under test. */
  const levelAtLeast50 = async () =>
    (await readEvents(t.env.clients.logs, { group: t.env.resources.logGroups.controller })).filter((e) => {
      try {
        const level = (JSON.parse(e.message) as { level?: unknown }).level;
        return typeof level === "number" && level >= 50 && e.timestamp > Date.now() - 3600_000;
      } catch {
        return false;
      }
    }).length;
  const put = async (stream: string, events: { timestamp: number; message: string }[]) =>
    t.env.clients.logs.send(
      new PutLogEventsCommand({
        logGroupName: t.env.resources.logGroups.controller,
        logStreamName: stream,
        logEvents: events,
      }),
    );

  it("counts level 50 and 60 lines of the controller group once each, not 30, not text, not older than the hour; the worker group has no filter", async () => {
    const first = await status();
    const controller = groupOf(first.body, "controller")!;
    expect(controller.unavailable).to.equal(undefined);
    expect(controller.filters).to.deep.equal(["{ $.level >= 50 }"]);
    expect(controller.errorLines).to.equal(await levelAtLeast50());
    expect(groupOf(first.body, "worker")!.filters).to.deep.equal([]);

    const stream = `i-status${Date.now()}`;
    await t.env.clients.logs.send(
      new CreateLogStreamCommand({
        logGroupName: t.env.resources.logGroups.controller,
        logStreamName: stream,
      }),
    );
    const now = Date.now();
    const line = (level: number, at: number, msg: string) =>
      `{"level":${level},"time":"${new Date(at).toISOString()}","msg":"${msg}"}`;
    await put(stream, [
      { timestamp: now - 2 * 3600_000, message: line(50, now - 2 * 3600_000, "two hours ago") },
      { timestamp: now, message: line(30, now, "Error in the text of an info line") },
      { timestamp: now + 1, message: line(50, now + 1, "broken") },
      { timestamp: now + 2, message: "not JSON: level 50 Error" },
      { timestamp: now + 3, message: line(60, now + 3, "fatal") },
      { timestamp: now + 4, message: line(50, now + 4, "broken again") },
    ]);
    // Past the newest line's timestamp: a call made within those milliseconds counts up to its own now.
    const second = await statusCovering(now + 5);
    const after = groupOf(second.body, "controller")!;
    expect(after.errorLines, "the three new error lines").to.equal(controller.errorLines + 3);
    expect(after.errorLines).to.equal(await levelAtLeast50());
    expect(after.last?.stream).to.equal(stream);
    expect(after.last?.message).to.include("broken again");

    const third = await status();
    expect(groupOf(third.body, "controller")!.errorLines, "nothing counted twice").to.equal(after.errorLines);

    // Shipped now, written 10 s ago: behind where the last read stopped, within the agent's delay.
    const late = Date.now() - 10_000;
    await put(stream, [{ timestamp: late, message: line(50, late, "shipped late") }]);
    const fourth = await statusCovering(Date.now());
    expect(groupOf(fourth.body, "controller")!.errorLines).to.equal(after.errorLines + 1);
    for (const s of [first, second, third, fourth]) expect(s.tookMs, "a status call").to.be.below(2000);

    const table = renderStatus(fourth.body, undefined);
    expect(table).to.match(
      new RegExp(
        `${t.env.resources.logGroups.controller}\\s+\\{ \\$\\.level >= 50 \\}\\s+${after.errorLines + 1}\\s`,
      ),
    );
    expect(table).to.match(new RegExp(`${t.env.resources.logGroups.worker}\\s+\\(no metric filter\\)\\s+-`));
  });
});
