/**
 * The instance's own id from the instance metadata service with IMDSv2 tokens, through the SDK.
 * On EC2 the SDK talks to 169.254.169.254; locally AWS_EC2_METADATA_SERVICE_ENDPOINT points it at the
 * emulator's per-instance metadata server. Nothing here knows which of the two it is.
 */
import { MetadataService } from "@aws-sdk/ec2-metadata-service";
import { Backoff, BackoffOptions, sleep } from "./backoff";

export interface InstanceIdentity {
  instanceId: string;
  availabilityZone: string;
}

export async function readInstanceIdentity(
  options: { endpoint?: string; attempts?: number; signal?: AbortSignal; backoff?: BackoffOptions } = {},
): Promise<InstanceIdentity> {
  const backoff = new Backoff(options.backoff ?? { initialMs: 200, maxMs: 3000 });
  const attempts = options.attempts ?? 10;
  for (let attempt = 1; ; attempt++) {
    // A new client per attempt: the SDK's client stops asking for tokens for good after one 403, 404
    // or 405 to its token request, and with IMDSv1 disabled every later request of it then fails.
    // Each request takes a fresh token, so a token's expiry never matters here.
    const service = new MetadataService({
      endpoint: options.endpoint,
      ec2MetadataV1Disabled: true,
      retries: 0,
      httpOptions: { timeout: 2000 },
    });
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
