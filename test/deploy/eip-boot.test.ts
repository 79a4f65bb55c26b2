/**
 * The controller's boot step that claims the Elastic IP (services/controller/elastic-ip.ts), against
 * the local cloud's EC2 API (moto): the same calls an instance makes on AWS with its instance role.
 */
import {
  AllocateAddressCommand,
  DescribeAddressesCommand,
  EC2Client,
  RunInstancesCommand,
} from "@aws-sdk/client-ec2";
import { expect } from "chai";
import { claimElasticIp } from "../../services/controller/elastic-ip";
import { createLogger } from "../../services/common/logger";
import { waitFor } from "../../emulator/wait";
import { hasCommand, MotoServer, startMoto } from "./moto-server";

function clientFor(moto: MotoServer | undefined): EC2Client {
  if (moto === undefined) throw new Error("moto is not running");
  return new EC2Client({
    endpoint: moto.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
}

describe("controller boot: claiming the Elastic IP", function () {
  let moto: MotoServer | undefined;
  let ec2: EC2Client;
  const log = createLogger("eip-boot-test", "silent");
  const backoff = { initialMs: 10, maxMs: 50 };

  before(async function () {
    if (!hasCommand("moto_server")) this.skip(); // moto is not installed here
    moto = await startMoto();
    ec2 = clientFor(moto);
  });
  after(async () => {
    await moto?.stop();
  });

  const launch = async () => {
    const out = await ec2.send(
      new RunInstancesCommand({ ImageId: "ami-0faa5c0000000c001", MinCount: 1, MaxCount: 1 }),
    );
    const id = out.Instances?.[0]?.InstanceId;
    if (id === undefined) throw new Error("RunInstances returned no instance");
    return id;
  };
  const holder = async (allocationId: string) =>
    (await ec2.send(new DescribeAddressesCommand({ AllocationIds: [allocationId] }))).Addresses?.[0]
      ?.InstanceId;

  it("finds the address by its Name tag and associates it with this instance", async () => {
    const instanceId = await launch();
    const eip = await ec2.send(
      new AllocateAddressCommand({
        Domain: "vpc",
        TagSpecifications: [
          { ResourceType: "elastic-ip", Tags: [{ Key: "Name", Value: "faas-controller" }] },
        ],
      }),
    );
    const claimed = await claimElasticIp(ec2, { instanceId, tag: "faas-controller", backoff }, log);
    expect(claimed.allocationId).to.equal(eip.AllocationId);
    expect(claimed.publicIp).to.equal(eip.PublicIp);
    expect(claimed.attempts).to.equal(1);
    expect(await holder(claimed.allocationId)).to.equal(instanceId);
  });

  it("takes the address over from the instance it replaces (reassociation)", async () => {
    const old = await launch();
    const eip = await ec2.send(new AllocateAddressCommand({ Domain: "vpc" }));
    const allocationId = eip.AllocationId!;
    await claimElasticIp(ec2, { instanceId: old, allocationId, tag: "unused", backoff }, log);
    const replacement = await launch();
    const claimed = await claimElasticIp(
      ec2,
      { instanceId: replacement, allocationId, tag: "unused", backoff },
      log,
    );
    expect(claimed.allocationId).to.equal(allocationId);
    expect(await holder(allocationId)).to.equal(replacement);
  });

  it("keeps retrying until the address exists, and stops when aborted", async () => {
    const instanceId = await launch();
    // The claim looks the address up once per attempt: a client that counts the lookups shows when
    // the claim has failed and is trying again.
    const watched = clientFor(moto);
    let lookups = 0;
    watched.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === "DescribeAddressesCommand") lookups += 1;
        return next(args);
      },
      { step: "initialize" },
    );
    const stop = new AbortController();
    const claim = claimElasticIp(watched, { instanceId, tag: "not-yet", backoff, signal: stop.signal }, log);
    await waitFor("the claim to fail and try again", () => lookups >= 2, { timeoutMs: 10_000 });
    const eip = await ec2.send(
      new AllocateAddressCommand({
        Domain: "vpc",
        TagSpecifications: [{ ResourceType: "elastic-ip", Tags: [{ Key: "Name", Value: "not-yet" }] }],
      }),
    );
    const claimed = await claim;
    expect(claimed.allocationId).to.equal(eip.AllocationId);
    expect(claimed.attempts).to.be.greaterThan(1);

    const aborted = new AbortController();
    aborted.abort();
    let error: unknown;
    try {
      await claimElasticIp(ec2, { instanceId, tag: "never", backoff, signal: aborted.signal }, log);
    } catch (err) {
      error = err;
    }
    expect(String(error)).to.contain("aborted");
  });
});
