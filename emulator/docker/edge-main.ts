/**
 * The Elastic IP edge as a container on the public network, published on 127.0.0.1:8080 only. It
 * forwards to the instance the address is associated with, by its instance id, which the Docker
 * backend gives every instance as a network alias — while EC2 says that instance is running.
 */
import { DescribeAddressesCommand, DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { sleep } from "../../services/common/backoff";
import { ElasticIpEdge } from "../edge";
import { loadEdgeConfig } from "./config";
import { RETRY_BACKOFF, waitFor } from "../wait";

async function main(): Promise<void> {
  const config = loadEdgeConfig();
  const ec2 = new EC2Client({});
  const allocationId = await waitFor(
    "the Elastic IP",
    async () => {
      const out = await ec2.send(
        new DescribeAddressesCommand({
          Filters: [{ Name: "tag:Name", Values: [`${config.prefix}-controller`] }],
        }),
      );
      const id = out.Addresses?.[0]?.AllocationId;
      if (id === undefined) throw new Error(`no Elastic IP tagged ${config.prefix}-controller yet`);
      return id;
    },
    { timeoutMs: config.waitMs, backoff: RETRY_BACKOFF },
  );

  // Running instances only; refreshed with the association.
  let running = new Set<string>();
  const refreshInstances = async (): Promise<void> => {
    const next = new Set<string>();
    const out = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: "instance-state-name", Values: ["running"] }] }),
    );
    for (const reservation of out.Reservations ?? []) {
      for (const instance of reservation.Instances ?? []) {
        if (instance.InstanceId === undefined) continue;
        next.add(instance.InstanceId);
      }
    }
    running = next;
  };
  await refreshInstances();
  // One request at a time: moto answers slowly under load, and overlapping polls would only queue up.
  let stopped = false;
  const poll = async (): Promise<void> => {
    while (!stopped) {
      await refreshInstances().catch(() => undefined);
      await sleep(config.refreshMs);
    }
  };
  const polling = poll();

  const edge = new ElasticIpEdge({
    host: config.host,
    port: config.port,
    allocationId,
    ec2,
    refreshMs: config.refreshMs,
    targetOf: (instanceId) => {
      return running.has(instanceId) ? { host: instanceId, port: config.instancePort } : undefined;
    },
  });
  await edge.start();
  process.stdout.write(`${JSON.stringify({ edge: `${config.host}:${config.port}`, allocationId })}\n`);
  const stop = () => {
    stopped = true;
    void Promise.all([edge.stop(), polling]).finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`edge failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
