/**
 * The queue's cost as its backlog grows: `node dist/bench/queue.js`. For moto (started here on a free
 * port) and for the local queue service (emulator/queue, started in-process), it runs the loop a
 * worker and a controller make together — SendMessageBatch of 10, ReceiveMessage of up to 10,
 * DeleteMessageBatch of what came back — for a fixed window on an empty queue, then on queues where
 * 500 and 3 000 messages already wait (sent first in batches of ten), after one unmeasured warm-up
 * window, and prints messages/s (messages
 * received and deleted per second) and each backlog's rate as a share of the empty queue's.
 * Target (issue 10): with 3 000 waiting, at least 70 % of the empty-queue rate.
 */
import { randomBytes } from "node:crypto";
import { Agent } from "node:http";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { AwsEmulator, startMoto } from "../emulator/aws-emulator";
import { LABEL_ENV } from "../emulator/environment";
import { freePort } from "../emulator/ports";
import { startQueueService } from "../emulator/queue/server";

const TARGET_SHARE = 0.7;
const BATCH = 10;

interface Server {
  name: string;
  endpoint: string;
  stop(): Promise<void>;
}

interface Figure {
  depth: number;
  messages: number;
  seconds: number;
  perSecond: number;
}

async function main(): Promise<void> {
  const args = await yargs(hideBin(process.argv))
    .option("seconds", { type: "number", default: 5, describe: "length of each measured window" })
    .option("depths", {
      type: "string",
      default: "0,500,3000",
      describe: "messages waiting, comma-separated; the first is the baseline",
    })
    .option("servers", {
      type: "string",
      default: "moto,queue",
      describe: "which to measure: moto, queue, or both",
    })
    .strict()
    .parseAsync();
  const depths = args.depths.split(",").map(Number);
  if (depths.some((d) => !Number.isInteger(d) || d < 0))
    throw new Error(`--depths ${args.depths}: whole numbers >= 0`);
  const wanted = new Set(args.servers.split(","));

  const started: Server[] = [];
  const stopAll = async () => {
    await Promise.allSettled(started.splice(0).map((s) => s.stop()));
  };
  process.on("SIGINT", () => void stopAll().then(() => process.exit(130)));
  const results = new Map<string, Figure[]>();
  try {
    if (wanted.has("moto")) {
      const mine = { [LABEL_ENV]: `bench-queue-${process.pid}` };
      const moto: AwsEmulator = await startMoto(await freePort(), mine, () => undefined);
      const server = { name: "moto", endpoint: moto.endpoint, stop: () => moto.stop() };
      started.push(server);
      results.set(server.name, await measure(server, depths, args.seconds));
      await stopAll();
    }
    if (wanted.has("queue")) {
      const service = await startQueueService({ port: 0 });
      const server = { name: "queue service", endpoint: service.endpoint, stop: () => service.stop() };
      started.push(server);
      results.set(server.name, await measure(server, depths, args.seconds));
      await stopAll();
    }
  } finally {
    await stopAll();
  }
  report(results);
}

async function measure(server: Server, depths: number[], seconds: number): Promise<Figure[]> {
  const sqs = new SQSClient({
    endpoint: server.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 4 }) }),
  });
  const figures: Figure[] = [];
  try {
    // A first window is slower for reasons that are not the backlog (JIT, connections): run one unmeasured.
    const scratch = await sqs.send(
      new CreateQueueCommand({ QueueName: `bench-${randomBytes(4).toString("hex")}-warmup` }),
    );
    await loop(sqs, scratch.QueueUrl ?? "", 0, Math.min(2, seconds));
    await sqs.send(new DeleteQueueCommand({ QueueUrl: scratch.QueueUrl }));
    for (const depth of depths) {
      const name = `bench-${randomBytes(4).toString("hex")}-${depth}`;
      const { QueueUrl } = await sqs.send(
        new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: "60" } }),
      );
      const url = QueueUrl ?? "";
      const prefillStarted = Date.now();
      for (let sent = 0; sent < depth; sent += BATCH)
        await sendBatch(sqs, url, Math.min(BATCH, depth - sent));
      if (depth > 0) {
        process.stderr.write(
          `${server.name}: ${depth} messages waiting (sent in ${((Date.now() - prefillStarted) / 1000).toFixed(1)} s)\n`,
        );
      }
      const figure = await loop(sqs, url, depth, seconds);
      process.stderr.write(`${server.name}, ${depth} waiting: ${figure.perSecond.toFixed(0)} messages/s\n`);
      figures.push(figure);
      await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    }
  } finally {
    sqs.destroy();
  }
  return figures;
}

async function sendBatch(sqs: SQSClient, url: string, n: number): Promise<void> {
  const out = await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: url,
      Entries: Array.from({ length: n }, (_, i) => ({
        Id: `m${i}`,
        MessageBody: `{"task":${i},"pad":"${"x".repeat(200)}"}`,
      })),
    }),
  );
  if ((out.Failed ?? []).length > 0)
    throw new Error(`SendMessageBatch failed: ${JSON.stringify(out.Failed)}`);
}

/** Send 10, receive up to 10, delete what came back, until the window ends. */
async function loop(sqs: SQSClient, url: string, depth: number, seconds: number): Promise<Figure> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let messages = 0;
  while (performance.now() < deadline) {
    await sendBatch(sqs, url, BATCH);
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: BATCH, WaitTimeSeconds: 0 }),
    );
    const handles = (received.Messages ?? []).flatMap((m) =>
      m.ReceiptHandle === undefined ? [] : [m.ReceiptHandle],
    );
    if (handles.length === 0) continue;
    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: handles.map((h, i) => ({ Id: `d${i}`, ReceiptHandle: h })),
      }),
    );
    messages += deleted.Successful?.length ?? 0;
  }
  const elapsed = (performance.now() - started) / 1000;
  return { depth, messages, seconds: elapsed, perSecond: messages / elapsed };
}

function report(results: Map<string, Figure[]>): void {
  const lines = [
    "",
    `queue cost with a backlog: send 10 + receive 10 + delete 10, messages/s (target: the deepest backlog >= ${TARGET_SHARE * 100} % of the empty queue)`,
  ];
  for (const [name, figures] of results) {
    const base = figures[0];
    if (base === undefined) continue;
    const cells = figures.map((f) => {
      const share = base.perSecond > 0 ? f.perSecond / base.perSecond : NaN;
      return (
        `${f.depth} waiting: ${f.perSecond.toFixed(0)}/s` +
        (f === base ? "" : ` (${(share * 100).toFixed(0)} %)`)
      );
    });
    const deepest = figures.at(-1) ?? base;
    const met = base.perSecond > 0 && deepest.perSecond / base.perSecond >= TARGET_SHARE;
    lines.push(
      `  ${name.padEnd(14)} ${cells.join(", ")}  ${figures.length > 1 ? (met ? "target met" : "target NOT met") : ""}`,
    );
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
