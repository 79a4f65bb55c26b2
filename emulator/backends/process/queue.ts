/**
 * The local cloud's SQS (emulator/queue/, docs/queue.md) as a child process on 127.0.0.1, labelled and
 * tied to this process by its stdin lifeline like the services: moto's SQS slows down with every
 * message waiting, this one does not. Its own process, so the bench counts its CPU apart.
 */
import path from "node:path";
import { ManagedProcess } from "../../managed-process";
import { assertPortFree, PrerequisiteError, waitForPort } from "../../ports";

export interface QueueProcess {
  endpoint: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

type OnLine = (name: string, line: string, stream: "stdout" | "stderr") => void;

export async function startQueueProcess(
  port: number,
  labels: Record<string, string>,
  onLine: OnLine,
): Promise<QueueProcess> {
  await assertPortFree(port, "the queue service (SQS)", "--queue-port");
  const proc = new ManagedProcess({
    name: "sqs",
    command: process.execPath,
    args: [path.resolve(__dirname, "..", "..", "queue", "main.js"), "--port", String(port)],
    env: { ...process.env, ...labels, FAAS_EXIT_WITH_PARENT: "1" },
    // Its one start line says where it listens; nothing else unless something is wrong.
    onLine: (name, line, stream) => {
      if (!line.includes('"queueService"')) onLine(name, line, stream);
    },
  });
  await waitForPort(port, 20_000, () => proc.running).catch((err: unknown) => {
    throw new PrerequisiteError(`the queue service did not start on port ${port}: ${String(err)}`);
  });
  return { endpoint: `http://127.0.0.1:${port}`, pid: proc.pid, stop: () => proc.stop() };
}
