/**
 * SQS in the compose project: the queue service (emulator/queue, docs/queue.md) on the cloud network
 * (alias `queue`, where the bootstrap and the reconciler create the queues), and the SQS VPC interface
 * endpoint the instances use: a TCP proxy on the private network (alias `sqs`) to it, as
 * emulator/tcp-proxy.ts is on the host for the process runtime. Without FAAS_QUEUE_SERVICE_PORT the
 * endpoint leads to the AWS emulator's own SQS instead. Chaos cuts the endpoint with SIGUSR1 (new
 * connections refused, open ones reset, as when an endpoint or its security group stops answering)
 * and restores it with SIGUSR2; each change is logged as one JSON line.
 */
import { startQueueService } from "../queue/server";
import { TcpProxy } from "../tcp-proxy";
import { loadQueueEndpointConfig } from "./config";

async function main(): Promise<void> {
  const config = loadQueueEndpointConfig();
  const queue =
    config.queueServicePort === undefined
      ? undefined
      : await startQueueService({ port: config.queueServicePort, host: "0.0.0.0" });
  const target = queue === undefined ? config.target : { host: "127.0.0.1", port: queue.port };
  const proxy = new TcpProxy(target, config.port, "0.0.0.0");
  await proxy.start();
  const say = (fields: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(fields)}\n`);
  say({
    endpoint: `0.0.0.0:${config.port}`,
    target: `${target.host}:${target.port}`,
    queueService: queue?.port,
  });
  process.on("SIGUSR1", () => {
    proxy.setCut(true);
    say({ endpoint: "cut" });
  });
  process.on("SIGUSR2", () => {
    proxy.setCut(false);
    say({ endpoint: "restored" });
  });
  const stop = () => void Promise.allSettled([proxy.stop(), queue?.stop()]).finally(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`SQS endpoint failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
