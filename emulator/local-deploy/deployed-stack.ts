/**
 * A Terraform-deployed stack, booted on the local cloud: what `make deploy TARGET=local` runs after the
 * apply. The groups Terraform created in the AWS emulator (asg-source.ts) are kept at capacity by the
 * same reconciler and fleet as `make dev`'s groups; each instance is the service its launch template's
 * user data would start (boot-env.ts), with the secrets from SSM; the controller claims the Terraform
 * Elastic IP; a deployment edge of its own carries that address's port on 127.0.0.1.
 *
 * What the deployment shares with the environment it runs beside, and what it owns:
 * - the AWS emulator (the one Terraform applied to): EC2, Auto Scaling, SSM, S3, DynamoDB, Logs, and
 *   SQS — moto's own, because that is where Terraform's queues are;
 * - its own Redis: Terraform's ElastiCache in moto is a record with no server behind it. Started with
 *   the AUTH token from SSM as its password, on a free port; sharing `make dev`'s Redis would mix two
 *   platforms' invocation records and leases in one keyspace, under a password the stack never set;
 * - its own SQS endpoint proxy, edge, metadata servers, sandbox uid range and instance folders;
 * - with tls_mode = self-signed (the default), the API's certificate and key from SSM, written once for
 *   the deployment into a private folder (mode 600 files), as faas-boot writes them on each instance
 *   (/etc/faas/tls): the controller serves HTTPS and the edge carries it through untouched.
 * Everything it starts carries FAAS_ENV_ID=<envId> and stops with `stop()`.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  DescribeAddressesCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { Backend, ElasticIpView, Role } from "../backends/backend";
import { ProcessBackend } from "../backends/process/backend";
import { awsClients, Clients, destroyClients } from "../cloud-resources";
import { Fleet, InstanceInfo } from "../fleet";
import { assertPortFree, freePort } from "../ports";
import { FAST_TIMING, Reconciler, ScalingActivity, ScalingTiming } from "../reconciler";
import { checkServiceEnv, ServiceEnv, withBackendVars, CHECK_BACKEND_VARS } from "../service-env";
import { AutoScalingGroupSource, DeployedGroup, deployedGroups } from "./asg-source";
import {
  ApiTls,
  BootEnv,
  bootRole,
  bootServiceEnv,
  LocalPlacement,
  parseBootEnv,
  readBootSecrets,
  SecretStore,
} from "./boot-env";
import { LocalDeployError } from "./errors";
import { GetParameterCommand } from "@aws-sdk/client-ssm";
import { destroyLocalAws, LocalAws, localAwsClients } from "./aws-clients";

export interface DeployedStackOptions {
  /** Terraform's `name`: the prefix of every resource of the deployment. */
  name: string;
  /** The AWS emulator Terraform applied to. */
  awsEndpoint: string;
  region?: string;
  /** Where the deployment's Elastic IP edge listens on 127.0.0.1. */
  edgePort: number;
  envId?: string;
  scaling?: ScalingTiming;
  onLog?: (source: string, line: string, stream: "stdout" | "stderr") => void;
  onActivity?: (activity: ScalingActivity) => void;
}

export class DeployedStack implements AsyncDisposable {
  private stopped = false;

  private constructor(
    readonly envId: string,
    readonly options: DeployedStackOptions,
    readonly groups: DeployedGroup[],
    /** The controller's API key (from SSM), for the CLI and the readiness check. */
    readonly apiKey: string,
    readonly redisUrl: string,
    /** The SHA-256 of the API's certificate, which clients pin; undefined with tls_mode = off. */
    readonly tlsFingerprint: string | undefined,
    /** The private folder of the certificate and key, removed at stop. */
    private readonly tlsDir: string | undefined,
    private readonly backend: Backend,
    private readonly clients: Clients,
    private readonly aws: LocalAws,
    private readonly edge: ElasticIpView,
    private readonly fleet: Fleet,
    readonly reconciler: Reconciler,
  ) {}

  static async start(options: DeployedStackOptions): Promise<DeployedStack> {
    const envId = options.envId ?? `faas-deploy-${options.name}-${randomBytes(3).toString("hex")}`;
    const region = options.region ?? "us-east-1";
    const aws = localAwsClients(options.awsEndpoint, region);
    const timing = options.scaling ?? FAST_TIMING;
    const onLog = options.onLog ?? (() => undefined);
    const cleanups: (() => Promise<void>)[] = [];
    const clients = awsClients({
      endpoint: options.awsEndpoint,
      region,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    cleanups.push(() => Promise.resolve(destroyClients(clients)));
    cleanups.push(() => Promise.resolve(destroyLocalAws(aws)));
    try {
      const groups = await deployedGroups(aws, options.name);
      const groupOf = (role: Role): DeployedGroup => {
        const found = groups.filter((g) => g.role === role);
        const [only] = found;
        if (only === undefined || found.length !== 1)
          throw new LocalDeployError(
            "no-groups",
            `${found.length === 0 ? "no" : "more than one"} Auto Scaling group ${options.name}-* tagged Role=${role} in ${options.awsEndpoint}: apply deploy/terraform first (make deploy TARGET=local)`,
          );
        return only;
      };
      const controllerGroup = groupOf("controller");
      const workerGroup = groupOf("worker");
      const boot: Record<Role, BootEnv> = {
        controller: await groupBootEnv(clients.ec2, controllerGroup),
        worker: await groupBootEnv(clients.ec2, workerGroup),
      };
      const store = secretStore(aws, clients.s3);
      const secrets = {
        controller: await readBootSecrets(boot.controller, store),
        worker: await readBootSecrets(boot.worker, store),
      };
      if (secrets.controller.redisAuthToken !== secrets.worker.redisAuthToken)
        throw new LocalDeployError(
          "missing-secret",
          "the controller and the workers read different Redis AUTH tokens",
        );

      await assertPortFree(options.edgePort, "the deployment's Elastic IP edge", "EDGE_PORT");
      const redisPort = await freePort();
      const backend = await ProcessBackend.start(
        {
          envId,
          labels: { FAAS_ENV_ID: envId },
          prefix: options.name,
          edgePort: options.edgePort,
          visibilityTimeoutS: Number(boot.worker.get("FAAS_VISIBILITY_TIMEOUT_S") ?? 60),
          maxReceiveCount: 5,
          redisPassword: secrets.controller.redisAuthToken,
          onLog,
        },
        {
          awsEndpoint: options.awsEndpoint,
          redisPort,
          queue: "moto",
        },
      );
      cleanups.push(() => backend.stop());

      const tls = secrets.controller.tls;
      const placement: LocalPlacement = {
        redisHostPort: `127.0.0.1:${redisPort}`,
        queueUrl: (url: string) => backend.queueUrlForInstances(url),
      };
      if (tls !== undefined) {
        const dir = mkdtempSync(path.join(os.tmpdir(), `faas-tls-${envId}-`));
        cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
        placement.tlsFiles = writeApiTls(dir, tls);
      }
      const serviceEnv: Record<Role, ServiceEnv> = {
        controller: bootServiceEnv(boot.controller, secrets.controller, placement),
        worker: bootServiceEnv(boot.worker, secrets.worker, placement),
      };
      // A setting the service would refuse fails the deploy now, not as a crash loop of replacements.
      for (const role of ["controller", "worker"] as const)
        checkServiceEnv(withBackendVars(serviceEnv[role], CHECK_BACKEND_VARS));

      const allocationId = boot.controller.get("FAAS_EIP_ALLOCATION_ID") ?? "";
      const address = (
        await clients.ec2.send(new DescribeAddressesCommand({ AllocationIds: [allocationId] }))
      ).Addresses?.[0];
      const holder: { fleet?: Fleet } = {};
      const edge = await backend.startEdge(
        {
          queueUrl: boot.controller.get("FAAS_QUEUE_URL") ?? "",
          dlqUrl: boot.controller.get("FAAS_DLQ_URL") ?? "",
          bucket: boot.controller.get("FAAS_BUCKET") ?? "",
          table: boot.controller.get("FAAS_TABLE") ?? "",
          eipAllocationId: allocationId,
          eipPublicIp: address?.PublicIp ?? "",
          eipTag: boot.controller.get("FAAS_EIP_TAG") ?? "",
          publicSubnetId: "",
          privateSubnetId: "",
          logGroups: {
            controller: boot.controller.get("FAAS_LOG_GROUP") ?? `/${options.name}/controller`,
            worker: boot.worker.get("FAAS_LOG_GROUP") ?? `/${options.name}/worker`,
          },
        },
        clients.ec2,
        (id, listener) => holder.fleet?.target(id, listener),
        { remapDelayMs: timing.eipRemapDelayMs },
      );
      cleanups.push(() => edge.stop());
      const fleet = new Fleet({
        envId,
        backend,
        ec2: clients.ec2,
        source: new AutoScalingGroupSource(aws, clients.ec2, {
          controller: controllerGroup.name,
          worker: workerGroup.name,
        }),
        eipAllocationId: allocationId,
        timing,
        serviceEnv: (role) => serviceEnv[role],
        onLog,
        onTerminated: () => edge.refresh(),
      });
      holder.fleet = fleet;
      cleanups.push(() => fleet.stop());
      const reconciler = new Reconciler(
        [controllerGroup, workerGroup].map((g) => ({
          name: g.name,
          role: g.role,
          min: g.min,
          max: g.max,
          desired: g.desired,
        })),
        fleet,
        timing,
        options.onActivity,
      );
      const stack = new DeployedStack(
        envId,
        options,
        groups,
        secrets.controller.apiKey ?? "",
        `redis://:${secrets.controller.redisAuthToken}@${placement.redisHostPort}`,
        tls?.fingerprint256,
        placement.tlsFiles === undefined ? undefined : path.dirname(placement.tlsFiles.certFile),
        backend,
        clients,
        aws,
        edge,
        fleet,
        reconciler,
      );
      await reconciler.start();
      return stack;
    } catch (err) {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
      throw err;
    }
  }

  /** The deployment's public API: its Elastic IP's port, on 127.0.0.1 (https unless tls_mode = off). */
  get endpoint(): string {
    return `${this.tlsFingerprint === undefined ? "http" : "https"}://127.0.0.1:${this.options.edgePort}`;
  }

  get workersDesired(): number {
    return this.reconciler.group(this.groups.find((g) => g.role === "worker")?.name ?? "")?.desired ?? 0;
  }

  /** The instance the Elastic IP points to, as the edge last saw it. */
  get elasticIpHolder(): string | undefined {
    return this.edge.instanceId;
  }

  list(): InstanceInfo[] {
    return this.fleet.list();
  }

  /** The infrastructure's processes (Redis) and the instances' services, for "nothing left behind" checks. */
  pids(): number[] {
    return [
      ...this.backend.hostProcesses().map((p) => p.pid),
      ...this.fleet.list().flatMap((i) => (i.pid === undefined ? [] : [i.pid])),
    ];
  }

  /**
   * Stops the instances' services, the edge and the deployment's Redis. The instances stay recorded in
   * their groups (a runner started again adopts them); `terraform destroy` removes the groups.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.reconciler.stop();
    await this.fleet.stop();
    await this.edge.stop();
    await this.backend.stop();
    if (this.tlsDir !== undefined) rmSync(this.tlsDir, { recursive: true, force: true });
    destroyClients(this.clients);
    destroyLocalAws(this.aws);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** The boot.env of the group's launch template version, checked against the group's Role tag. */
async function groupBootEnv(ec2: EC2Client, group: DeployedGroup): Promise<BootEnv> {
  const out = await ec2.send(
    new DescribeLaunchTemplateVersionsCommand({
      LaunchTemplateId: group.launchTemplateId,
      Versions: [group.launchTemplateVersion],
    }),
  );
  const userData = out.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.UserData;
  if (userData === undefined || userData === "")
    throw new LocalDeployError(
      "bad-user-data",
      `the launch template ${group.launchTemplateId} (version ${group.launchTemplateVersion}) of ${group.name} has no user data`,
    );
  const boot = parseBootEnv(Buffer.from(userData, "base64").toString("utf8"));
  if (bootRole(boot) !== group.role)
    throw new LocalDeployError(
      "bad-user-data",
      `${group.name} is tagged Role=${group.role} but its user data boots a ${bootRole(boot)}`,
    );
  return boot;
}

/** cert.pem and key.pem in `dir` (a folder only this user reads), mode 600, as faas-boot writes /etc/faas/tls. */
function writeApiTls(dir: string, tls: ApiTls): { certFile: string; keyFile: string } {
  const certFile = path.join(dir, "cert.pem");
  const keyFile = path.join(dir, "key.pem");
  writeFileSync(certFile, tls.cert.endsWith("\n") ? tls.cert : `${tls.cert}\n`, { mode: 0o600 });
  writeFileSync(keyFile, tls.key.endsWith("\n") ? tls.key : `${tls.key}\n`, { mode: 0o600 });
  return { certFile, keyFile };
}

/** SSM parameters (decrypted, as `aws ssm get-parameter --with-decryption`) and S3 objects of the local cloud. */
function secretStore(aws: LocalAws, s3: S3Client): SecretStore {
  return {
    parameter: async (name) => {
      const out = await aws.ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      return out.Parameter?.Value ?? "";
    },
    object: async (s3Url) => {
      const url = new URL(s3Url);
      const out = await s3.send(new GetObjectCommand({ Bucket: url.host, Key: url.pathname.slice(1) }));
      return (await out.Body?.transformToString()) ?? "";
    },
  };
}
