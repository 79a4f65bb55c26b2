/**
 * What the client side of the three SQS calls on every invocation's path costs, through the AWS SDK and
 * through the platform's own client (services/common/sqs-wire.ts): `node dist/bench/sqs-client.js`.
 * The local queue service runs as its own process, so this process's CPU time (`process.cpuUsage()`) is
 * the client's alone. Each round is what a synchronous invocation makes: SendMessageBatch of one entry,
 * ReceiveMessage, DeleteMessageBatch. The two clients take turns, after a warm-up round each, and the
 * figures are CPU milliseconds per call and wall milliseconds per round.
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
import { startQueueProcess } from "../emulator/backends/process/queue";
import { LABEL_ENV } from "../emulator/environment";
import { freePort } from "../emulator/ports";
import { SqsHotCalls, SqsWire } from "../services/common/sqs-wire";

const CALLS_PER_ROUND = 3;

/** The SDK behind the same three calls, configured as the services configure it (services/common/aws.ts). */
function sdkCalls(sqs: SQSClient): SqsHotCalls {
  return {
    sendMessageBatch: (input) => sqs.send(new SendMessageBatchCommand(input)),
    receiveMessage: (input, signal) => sqs.send(new ReceiveMessageCommand(input), { abortSignal: signal }),
    deleteMessageBatch: (input) => sqs.send(new DeleteMessageBatchCommand(input)),
  };
}

async function rounds(calls: SqsHotCalls, QueueUrl: string, n: number): Promise<void> {
  const body = JSON.stringify({ n, pad: "x".repeat(300) });
  for (let i = 0; i < n; i++) {
    await calls.sendMessageBatch({ QueueUrl, Entries: [{ Id: "0", MessageBody: body }] });
    const got = await calls.receiveMessage({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 });
    const entries = (got.Messages ?? []).map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle }));
    if (entries.length === 0) throw new Error("the message sent did not come back");
    await calls.deleteMessageBatch({ QueueUrl, Entries: entries });
  }
}

async function main(): Promise<void> {
  const args = await yargs(hideBin(process.argv))
    .option("rounds", { type: "number", default: 1000, describe: "measured rounds per turn" })
    .option("turns", { type: "number", default: 2, describe: "turns of each client, interleaved" })
    .strict()
    .parse();
  const queue = await startQueueProcess(
    await freePort(),
    { [LABEL_ENV]: `bench-sqs-client-${process.pid}` },
    (_name, line) => process.stderr.write(`${line}\n`),
  );
  const sqs = new SQSClient({
    endpoint: queue.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 2,
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) }),
  });
  const wire = new SqsWire(sqs);
  const clients: [string, SqsHotCalls][] = [
    ["the AWS SDK", sdkCalls(sqs)],
    ["sqs-wire.ts", wire],
  ];
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `bench-sqs-client-${randomBytes(3).toString("hex")}` }),
  );
  try {
    process.stdout.write(
      `\nSQS client cost: send batch of 1 + receive + delete batch, against the local queue service\n`,
    );
    for (const [, calls] of clients) await rounds(calls, QueueUrl ?? "", Math.ceil(args.rounds / 3));
    for (let turn = 0; turn < args.turns; turn++) {
      for (const [name, calls] of clients) {
        const cpu = process.cpuUsage();
        const started = performance.now();
        await rounds(calls, QueueUrl ?? "", args.rounds);
        const wall = performance.now() - started;
        const used = process.cpuUsage(cpu);
        const cpuPerCall = (used.user + used.system) / 1000 / (args.rounds * CALLS_PER_ROUND);
        process.stdout.write(
          `  ${name.padEnd(12)} CPU per call ${cpuPerCall.toFixed(3)} ms, wall per round ${(wall / args.rounds).toFixed(3)} ms\n`,
        );
      }
    }
  } finally {
    await sqs.send(new DeleteQueueCommand({ QueueUrl }));
    sqs.destroy();
    await wire.close();
    await queue.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`sqs-client bench failed: ${String(err)}\n`);
  process.exitCode = 1;
});
