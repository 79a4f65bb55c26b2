/**
 * The instance's own id from the instance metadata service with IMDSv2 tokens, through the SDK.
 * On EC2 the SDK talks to 169.254.169.254; locally AWS_EC2_METADATA_SERVICE_ENDPOINT points it at the
 * emulator's per-instance metadata server. Nothing here knows which of the two it is.
 */
import { MetadataService } from "@aws-sdk/ec2-metadata-service";
import { Backoff, sleep } from "./backoff";

export interface InstanceIdentity {
  instanceId: string;
  availabilityZone: string;
}

export async function readInstanceIdentity(
  options: { endpoint?: string; attempts?: number; signal?: AbortSignal } = {},
): Promise<InstanceIdentity> {
  const service = new MetadataService({
    endpoint: options.endpoint,
    ec2MetadataV1Disabled: true,
    retries: 0,
    httpOptions: { timeout: 2000 },
  });
  const backoff = new Backoff({ initialMs: 200, maxMs: 3000 });
  const attempts = options.attempts ?? 10;
  for (let attempt = 1; ; attempt++) {
    try {
      const instanceId = (await service.request("latest/meta-data/instance-id", {})).trim();
      const availabilityZone = (
        await service.request("latest/meta-data/placement/availability-zone", {})
      ).trim();
      return { instanceId, availabilityZone };
    } catch (err) {
      if (attempt >= attempts || options.signal?.aborted) {
        throw new Error(`instance metadata service unreachable after ${attempt} attempts: ${String(err)}`, {
          cause: err,
        });
      }
      await sleep(backoff.next(), options.signal);
    }
  }
}
