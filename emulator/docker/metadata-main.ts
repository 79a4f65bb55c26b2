/**
 * An instance's network interface and instance metadata service, as one small container. The instance's
 * own container joins this one's network namespace (`container:<id>`, backends/docker/containers.ts),
 * so, as on EC2, the metadata service is reachable by that instance only (here on
 * 127.0.0.1:FAAS_IMDS_PORT, on EC2 on 169.254.169.254), and the instance keeps its addresses and its
 * identity when its process restarts. The fleet registered the instance in the EC2 emulator and
 * terminates it there (fleet.ts).
 */
import net from "node:net";
import { MetadataServer } from "../metadata-server";
import { loadInstanceNetworkConfig } from "./config";

const AMI_ID = "ami-faas-local";

async function main(): Promise<void> {
  const config = loadInstanceNetworkConfig();
  const instanceId = config.instanceId;
  const instanceType = config.role === "controller" ? "t3.micro" : "t4g.nano";
  const metadata = new MetadataServer({
    instanceId,
    availabilityZone: "us-east-1a",
    privateIp: config.privateIp,
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

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    forwarder.close();
    await metadata.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`instance network failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
