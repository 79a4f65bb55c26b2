/**
 * One-shot: creates the platform's AWS resources (VPC, subnets, queues, bucket, table, Elastic IP, log
 * groups) in the AWS emulator the container reaches through AWS_ENDPOINT_URL, prints them as one JSON
 * line and exits. Idempotent, so running it against a prepared emulator is harmless.
 */
import { awsClients, destroyClients, ensureCloudResources } from "../cloud-resources";
import { loadBootstrapConfig } from "./config";

async function main(): Promise<void> {
  const config = loadBootstrapConfig();
  const clients = awsClients();
  const resources = await ensureCloudResources(
    clients,
    {
      prefix: config.prefix,
      visibilityTimeoutS: config.visibilityTimeoutS,
      maxReceiveCount: config.maxReceiveCount,
    },
    config.waitMs,
  );
  process.stdout.write(`${JSON.stringify({ bootstrap: "done", ...resources })}\n`);
  destroyClients(clients);
}

main().catch((err: unknown) => {
  process.stderr.write(`bootstrap failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
