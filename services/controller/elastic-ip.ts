/**
 * On boot the controller claims the platform's Elastic IP for itself: AssociateAddress with
 * reassociation allowed, then DescribeAddresses to confirm the address now points here. The same code
 * runs on EC2 (instance role) and locally (the emulator's EC2 API); it retries with backoff until it
 * holds the address or is told to stop.
 */
import { AssociateAddressCommand, DescribeAddressesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { Backoff, sleep } from "../common/backoff";
import { Logger } from "../common/logger";

export interface ClaimOptions {
  instanceId: string;
  /** The allocation to claim; when absent, the address tagged `Name=<tag>` is used. */
  allocationId?: string;
  tag: string;
  signal?: AbortSignal;
  backoff?: { initialMs: number; maxMs: number };
}

export interface ClaimedAddress {
  allocationId: string;
  publicIp: string;
  associationId: string;
  attempts: number;
}

export async function findAllocationId(ec2: EC2Client, tag: string): Promise<string> {
  const out = await ec2.send(
    new DescribeAddressesCommand({ Filters: [{ Name: "tag:Name", Values: [tag] }] }),
  );
  const allocationId = out.Addresses?.[0]?.AllocationId;
  if (allocationId === undefined) throw new Error(`no Elastic IP is tagged Name=${tag}`);
  return allocationId;
}

/** Whether the Elastic IP is associated with this instance now. */
export async function holdsElasticIp(
  ec2: EC2Client,
  options: Pick<ClaimOptions, "instanceId" | "allocationId" | "tag">,
): Promise<boolean> {
  const allocationId = options.allocationId ?? (await findAllocationId(ec2, options.tag));
  const out = await ec2.send(new DescribeAddressesCommand({ AllocationIds: [allocationId] }));
  return out.Addresses?.[0]?.InstanceId === options.instanceId;
}

export async function claimElasticIp(
  ec2: EC2Client,
  options: ClaimOptions,
  log: Logger,
): Promise<ClaimedAddress> {
  const backoff = new Backoff(options.backoff ?? { initialMs: 250, maxMs: 5000 });
  for (let attempt = 1; ; attempt++) {
    try {
      const allocationId = options.allocationId ?? (await findAllocationId(ec2, options.tag));
      const assoc = await ec2.send(
        new AssociateAddressCommand({
          AllocationId: allocationId,
          InstanceId: options.instanceId,
          AllowReassociation: true,
        }),
      );
      const check = await ec2.send(new DescribeAddressesCommand({ AllocationIds: [allocationId] }));
      const address = check.Addresses?.[0];
      if (address?.InstanceId !== options.instanceId) {
        throw new Error(
          `address is associated with ${address?.InstanceId ?? "nothing"} after AssociateAddress`,
        );
      }
      const claimed = {
        allocationId,
        publicIp: address.PublicIp ?? "?",
        associationId: assoc.AssociationId ?? address.AssociationId ?? "?",
        attempts: attempt,
      };
      log.info({ ...claimed, instanceId: options.instanceId }, "claimed the Elastic IP");
      return claimed;
    } catch (err) {
      if (options.signal?.aborted) throw new Error("Elastic IP claim aborted", { cause: err });
      const delay = backoff.next();
      log.warn({ err: String(err), attempt, retryInMs: delay }, "could not claim the Elastic IP yet");
      await sleep(delay, options.signal);
    }
  }
}
