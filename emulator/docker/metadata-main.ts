/**
 * An instance's network interface and instance metadata service, as one small container. The instance's
 * own container joins this one's network namespace (`network_mode: service:…` in compose,
 * `container:<id>` from the Docker runtime), so, as on EC2, the metadata service is reachable by that
 * instance only (here on 127.0.0.1:FAAS_IMDS_PORT, on EC2 on 169.254.169.254), and the instance keeps
 * its addresses and its identity when its process restarts.
 *
 * When no FAAS_INSTANCE_ID is given (compose), it registers the instance in the EC2 emulator itself and,
 * on SIGTERM, terminates it as EC2 does: the Elastic IP it held is disassociated (moto would keep it).
 */
import net from "node:net";
import {
  DescribeAddressesCommand,
  DescribeSubnetsCommand,
  DisassociateAddressCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { MetadataServer } from "../metadata-server";
import { loadInstanceNetworkConfig, TAG_ADDRESS } from "./config";
import { RETRY_BACKOFF, waitFor } from "../wait";

const AMI_ID = "ami-faas-local";

async function main(): Promise<void> {
  const config = loadInstanceNetworkConfig();
  const ec2 = new EC2Client({});
  let instanceId = config.instanceId;
  let privateIp = config.privateIp;
  const instanceType = config.role === "controller" ? "t3.micro" : "t4g.nano";
  const registered = instanceId === undefined;
  if (instanceId === undefined) {
    const tier = config.role === "controller" ? "public" : "private";
    const subnetId = await waitFor(
      `the ${tier} subnet`,
      async () => {
        const out = await ec2.send(
          new DescribeSubnetsCommand({
            Filters: [{ Name: "tag:Name", Values: [`${config.prefix}-${tier}`] }],
          }),
        );
        const id = out.Subnets?.[0]?.SubnetId;
        if (id === undefined) throw new Error(`no subnet tagged ${config.prefix}-${tier} yet`);
        return id;
      },
      { timeoutMs: config.waitMs, backoff: RETRY_BACKOFF },
    );
    const tags = [
      { Key: "Name", Value: `faas-${config.role}` },
      { Key: "faas:role", Value: config.role },
      { Key: "faas:env", Value: config.envId },
      ...(config.address === undefined ? [] : [{ Key: TAG_ADDRESS, Value: config.address }]),
    ];
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: AMI_ID,
        InstanceType: instanceType,
        MinCount: 1,
        MaxCount: 1,
        SubnetId: subnetId,
        TagSpecifications: [{ ResourceType: "instance", Tags: tags }],
      }),
    );
    instanceId = run.Instances?.[0]?.InstanceId ?? "";
    privateIp = run.Instances?.[0]?.PrivateIpAddress ?? privateIp;
  }
  const metadata = new MetadataServer({
    instanceId,
    availabilityZone: "us-east-1a",
    privateIp,
    instanceType,
    amiId: AMI_ID,
  });
  await metadata.start();
  // MetadataServer picks its own port; the instance expects a fixed one, as it would 169.254.169.254:80.
  const forwarder = net.createServer((client) => {
    const upstream = net.connect(metadata.port, "127.0.0.1");
    client.pipe(upstream).pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => forwarder.listen(config.imdsPort, "127.0.0.1", resolve));
  process.stdout.write(
    `${JSON.stringify({ instanceId, role: config.role, imds: `http://127.0.0.1:${config.imdsPort}` })}\n`,
  );

  const id = instanceId;
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    forwarder.close();
    await metadata.stop();
    if (registered) await terminate(ec2, id).catch(() => undefined);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
}

/** EC2 termination: disassociate an Elastic IP the instance holds, then terminate it. */
async function terminate(ec2: EC2Client, instanceId: string): Promise<void> {
  const out = await ec2.send(
    new DescribeAddressesCommand({ Filters: [{ Name: "instance-id", Values: [instanceId] }] }),
  );
  for (const address of out.Addresses ?? []) {
    if (address.AssociationId !== undefined)
      await ec2.send(new DisassociateAddressCommand({ AssociationId: address.AssociationId }));
  }
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
}

main().catch((err: unknown) => {
  process.stderr.write(`instance network failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
