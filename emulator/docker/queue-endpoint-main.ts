/**
 * The SQS VPC interface endpoint as a container: a TCP proxy on the private network (alias `sqs`) to the
 * AWS emulator on the cloud network, as emulator/tcp-proxy.ts is on the host for the process runtime.
 * Chaos cuts it with SIGUSR1 (new connections refused, open ones reset, as when an endpoint or its
 * security group stops answering) and restores it with SIGUSR2; each change is logged as one JSON line.
 */
import { TcpProxy } from "../tcp-proxy";
import { loadQueueEndpointConfig } from "./config";

async function main(): Promise<void> {
  const config = loadQueueEndpointConfig();
  const proxy = new TcpProxy(config.target, config.port, "0.0.0.0");
  await proxy.start();
  const say = (fields: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(fields)}\n`);
  say({ endpoint: `0.0.0.0:${config.port}`, target: `${config.target.host}:${config.target.port}` });
  process.on("SIGUSR1", () => {
    proxy.setCut(true);
    say({ endpoint: "cut" });
  });
  process.on("SIGUSR2", () => {
    proxy.setCut(false);
    say({ endpoint: "restored" });
  });
  const stop = () => void proxy.stop().finally(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`SQS endpoint failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
