/**
 * The Auto Scaling groups of a compose project (the `reconciler` service of compose/docker-compose.yml):
 * launches the controller (a group of exactly one) and the workers as containers on the project's
 * networks, health-checks the controller as a load balancer would, and replaces any instance that dies
 * — `docker kill` included — with a new one that claims the Elastic IP, as `faas dev` does. It is the
 * same fleet, reconciler and Docker backend that `faas dev --runtime docker` runs in its own process,
 * here attached to a project compose started (dockerode over the Docker socket).
 *
 * When this service itself restarts, it does not adopt the instances it had launched: it terminates
 * them (containers and EC2 instances) and launches the groups anew, which is what an Auto Scaling group
 * whose state was lost would have to do too.
 */
import os from "node:os";
import { DescribeInstancesCommand, EC2Client, TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import Docker from "dockerode";
import { DockerBackend } from "../backends/docker/backend";
import { LABEL_DOCKER_ENV } from "../backends/docker/containers";
import { awsClients, ensureCloudResources } from "../cloud-resources";
import { autoScalingGroups, Fleet, RunInstancesSource } from "../fleet";
import { AWS_TIMING, FAST_TIMING, Reconciler } from "../reconciler";
import { platformServiceEnv, resourceUrls } from "../service-env";
import { loadReconcilerConfig } from "./config";

const LABEL_PROJECT = "com.docker.compose.project";

async function main(): Promise<void> {
  const config = loadReconcilerConfig();
  const docker = new Docker();
  const log = (source: string, line: string) => process.stdout.write(`${source} | ${line}\n`);
  // Compose names this container after the project; its hostname is its id.
  const self = (await docker.getContainer(os.hostname()).inspect()) as {
    Config: { Labels?: Record<string, string> };
  };
  const project = self.Config.Labels?.[LABEL_PROJECT];
  if (project === undefined)
    throw new Error("not started by docker-compose: no compose project label on this container");

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
  await removePreviousInstances(docker, clients.ec2, config.envId, log);

  const backend = await DockerBackend.start(
    {
      envId: config.envId,
      labels: { FAAS_ENV_ID: config.envId },
      prefix: config.prefix,
      edgePort: 8080,
      visibilityTimeoutS: config.visibilityTimeoutS,
      maxReceiveCount: config.maxReceiveCount,
      redisPassword: config.redisPassword,
      onLog: log,
    },
    { attachTo: project, imageTag: config.imageTag, docker },
  );
  const addressView = await backend.startEdge(resources, clients.ec2);
  const urls = resourceUrls(resources, (url) => backend.queueUrlForInstances(url));
  const timing = config.scaling === "aws" ? AWS_TIMING : FAST_TIMING;
  const fleet = new Fleet({
    envId: config.envId,
    backend,
    ec2: clients.ec2,
    source: new RunInstancesSource(clients.ec2, config.envId, {
      controller: resources.publicSubnetId,
      worker: resources.privateSubnetId,
    }),
    eipAllocationId: resources.eipAllocationId,
    timing,
    serviceEnv: (role) => platformServiceEnv(config.platform, role, urls),
    onLog: log,
    onTerminated: () => addressView.refresh(),
  });
  const reconciler = new Reconciler(
    autoScalingGroups(config.workers, config.maxWorkers),
    fleet,
    timing,
    (a) => {
      if (a.statusCode !== "InProgress")
        log("autoscaling", `${a.autoScalingGroupName}: ${a.description} (${a.statusCode})`);
    },
  );
  await reconciler.start();
  log("reconciler", JSON.stringify({ project, workers: config.workers, scaling: config.scaling }));

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    reconciler.stop();
    // Before compose removes the networks, which it cannot while these instances are attached.
    await fleet.stop();
    await backend.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
}

/** Containers and EC2 instances of this environment's instances that a previous run of this service launched. */
async function removePreviousInstances(
  docker: Docker,
  ec2: EC2Client,
  envId: string,
  log: (source: string, line: string) => void,
): Promise<void> {
  const containers = await docker.listContainers({
    all: true,
    filters: JSON.stringify({ label: [`${LABEL_DOCKER_ENV}=${envId}`, "faas.instance"] }),
  });
  await Promise.allSettled(containers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  const out = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: "tag:faas:env", Values: [envId] },
        { Name: "instance-state-name", Values: ["pending", "running"] },
      ],
    }),
  );
  const ids = (out.Reservations ?? []).flatMap((r) => (r.Instances ?? []).map((i) => i.InstanceId ?? ""));
  if (ids.length > 0)
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids.filter((id) => id !== "") }));
  if (containers.length + ids.length > 0)
    log(
      "reconciler",
      `removed ${containers.length} container(s) and ${ids.length} instance(s) of a previous run`,
    );
}

main().catch((err: unknown) => {
  process.stderr.write(`reconciler: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
