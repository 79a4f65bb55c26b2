/**
 * The environment's EC2 instances: each gets its identity in the EC2 emulator from an InstanceSource
 * (RunInstances for the environment's own groups; an instance an Auto Scaling group in the emulator
 * already recorded, for a Terraform-deployed stack: local-deploy/asg-source.ts), is placed by the
 * backend, booted after its group's boot delay, health-checked if it is a controller, and terminated
 * as EC2 does. The reconciler sees the fleet through `members`, `launch` and `terminate`.
 */
import {
  DescribeAddressesCommand,
  DisassociateAddressCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { Backend, InstanceIdentity, Listener, Placement, Role, RunningInstance } from "./backends/backend";
import { HealthChecker } from "./health-checker";
import { GroupSpec, ScalingTiming } from "./reconciler";
import { ServiceEnv } from "./service-env";

const AMI_ID = "ami-faas-local";

/** The Auto Scaling groups' names, one per role. */
export const GROUP = { controller: "faas-controller-asg", worker: "faas-worker-asg" } as const;

/**
 * The controller group of exactly one — two with a standby (one active, one ready) — and the worker
 * group at `workers` (at least min(workers, 2)).
 */
export function autoScalingGroups(workers: number, maxWorkers?: number, standby = false): GroupSpec[] {
  const controllers = standby ? 2 : 1;
  return [
    { name: GROUP.controller, role: "controller", min: controllers, max: controllers, desired: controllers },
    {
      name: GROUP.worker,
      role: "worker",
      min: Math.min(workers, 2),
      max: maxWorkers ?? Math.max(workers, 10),
      desired: workers,
    },
  ];
}

/** EC2's states, as far as the local cloud has them ("shutting-down": terminating, its services stopping). */
export type InstanceState = "pending" | "running" | "unhealthy" | "shutting-down" | "terminated";

/** How long a terminated instance's services may take to stop (drain) before they are killed. */
const SHUTDOWN_GRACE_MS = 15_000;

export interface InstanceInfo {
  instanceId: string;
  role: Role;
  state: InstanceState;
  pid: number | undefined;
  port: number | undefined;
  /** A controller's private listener (the workers' heartbeat), when the backend gives it one. */
  privatePort?: number;
  privateIp: string;
  launchedAt: number;
  startedAt: number | undefined;
  paused: boolean;
  reason: string | undefined;
}

interface Instance extends InstanceInfo {
  handle: RunningInstance | undefined;
  placement: Placement;
  unhealthySince: number | undefined;
  health: HealthChecker | undefined;
  bootTimer: NodeJS.Timeout | undefined;
}

/** Where a new instance's EC2 identity comes from, and how it leaves EC2 again. */
export interface InstanceSource {
  /** A new instance in the EC2 emulator for a role (launched now, or one its group recorded). */
  provision(role: Role): Promise<InstanceIdentity>;
  /** Terminates it in the EC2 emulator, once its service has stopped. */
  retire(instanceId: string): Promise<void>;
}

/** The environment's own groups: each instance is a RunInstances of its own, tagged with its group. */
export class RunInstancesSource implements InstanceSource {
  constructor(
    private readonly ec2: EC2Client,
    private readonly envId: string,
    private readonly subnets: Record<Role, string>,
  ) {}

  async provision(role: Role): Promise<InstanceIdentity> {
    const run = await this.ec2.send(
      new RunInstancesCommand({
        ImageId: AMI_ID,
        InstanceType: role === "controller" ? "t3.micro" : "t4g.nano",
        MinCount: 1,
        MaxCount: 1,
        SubnetId: this.subnets[role],
        TagSpecifications: [
          {
            ResourceType: "instance",
            Tags: [
              { Key: "Name", Value: `faas-${role}` },
              { Key: "faas:role", Value: role },
              { Key: "faas:env", Value: this.envId },
              { Key: "aws:autoscaling:groupName", Value: GROUP[role] },
            ],
          },
        ],
      }),
    );
    const ec2Instance = run.Instances?.[0];
    return {
      instanceId: ec2Instance?.InstanceId ?? "",
      role,
      privateIp: ec2Instance?.PrivateIpAddress ?? "10.0.0.10",
      instanceType: ec2Instance?.InstanceType ?? "t3.micro",
      amiId: AMI_ID,
    };
  }

  async retire(instanceId: string): Promise<void> {
    await this.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] })).catch(() => undefined);
  }
}

export interface FleetOptions {
  envId: string;
  backend: Backend;
  ec2: EC2Client;
  source: InstanceSource;
  eipAllocationId: string;
  timing: ScalingTiming;
  /** The service's settings for a new instance of a role (the backend adds where the cloud is). */
  serviceEnv: (role: Role, instanceId: string) => ServiceEnv;
  onLog?: (source: string, line: string, stream: "stdout" | "stderr") => void;
  /** After a termination: the edge re-reads who holds the address. */
  onTerminated: () => Promise<void>;
}

export class Fleet {
  private readonly instances = new Map<string, Instance>();
  private stopped = false;

  constructor(private readonly o: FleetOptions) {}

  /** For the reconciler: instances of a role that are not terminated, with their health. */
  members(role: Role): { instanceId: string; healthy: boolean; unhealthySince?: number; reason?: string }[] {
    return [...this.instances.values()]
      .filter((i) => i.role === role && i.state !== "terminated" && i.state !== "shutting-down")
      .map((i) => ({
        instanceId: i.instanceId,
        healthy: i.state !== "unhealthy",
        unhealthySince: i.unhealthySince,
        reason: i.reason,
      }));
  }

  /** Where an edge forwards to: a live controller's public or private port on this host. */
  target(instanceId: string, listener: Listener = "public"): { host: string; port: number } | undefined {
    const instance = this.instances.get(instanceId);
    const port = listener === "public" ? instance?.port : instance?.placement.privatePort;
    return instance !== undefined && instance.state !== "terminated" && port !== undefined
      ? { host: "127.0.0.1", port }
      : undefined;
  }

  /**
   * RunInstances in the EC2 emulator, a placement, and — after the boot delay — the service. Resolves
   * with the new instance once it is registered; the service starts later.
   */
  async launch(role: Role, bootDelayMs = 0): Promise<InstanceInfo> {
    const identity = await this.o.source.provision(role);
    const { instanceId, privateIp } = identity;
    const placement = await this.o.backend.place(identity);
    const instance: Instance = {
      instanceId,
      role,
      state: "pending",
      pid: undefined,
      port: placement.port,
      privateIp,
      launchedAt: Date.now(),
      startedAt: undefined,
      paused: false,
      reason: undefined,
      handle: undefined,
      placement,
      unhealthySince: undefined,
      health: undefined,
      bootTimer: undefined,
    };
    this.instances.set(instanceId, instance);
    const boot = async () => {
      if (instance.state !== "pending" || this.stopped) return;
      await this.boot(instance).catch((err: unknown) =>
        this.markUnhealthy(instance, `failed to boot: ${String(err)}`),
      );
    };
    if (bootDelayMs > 0) instance.bootTimer = setTimeout(() => void boot(), bootDelayMs);
    else await boot();
    return info(instance);
  }

  private async boot(instance: Instance): Promise<void> {
    const source = `${instance.role} ${instance.instanceId}`;
    const handle = await instance.placement.start(
      this.o.serviceEnv(instance.role, instance.instanceId),
      (line, stream) => this.o.onLog?.(source, line, stream),
    );
    instance.handle = handle;
    instance.pid = handle.pid;
    instance.startedAt = Date.now();
    if (instance.state === "pending") instance.state = "running";
    void handle.exited.then(({ code, signal }) => {
      if (instance.state === "running" || instance.state === "pending") {
        this.markUnhealthy(instance, `process exited (${signal ?? `code ${code ?? "?"}`})`);
      }
    });
    if (instance.role === "controller") {
      instance.health = new HealthChecker({
        timing: this.o.timing,
        bootAllowanceMs: this.o.backend.bootAllowanceMs,
        startedAt: instance.startedAt,
        target: () => instance.placement.healthTarget(handle),
        checking: () => instance.state === "running",
        onUnhealthy: (reason) => this.markUnhealthy(instance, reason),
      });
      instance.health.start();
    }
  }

  private markUnhealthy(instance: Instance, reason: string): void {
    instance.state = "unhealthy";
    instance.reason = reason;
    instance.unhealthySince = Date.now();
    this.o.onLog?.(`${instance.role} ${instance.instanceId}`, `instance unhealthy: ${reason}`, "stderr");
  }

  /**
   * Terminates an instance as EC2 does: the OS shuts down — its service gets SIGTERM and drains while
   * the instance keeps its network ("shutting-down", up to SHUTDOWN_GRACE_MS; its group launches the
   * replacement meanwhile) — then the instance is terminated in the EC2 emulator, and an Elastic IP it
   * still holds is disassociated, which AWS does on termination but moto does not.
   */
  async terminate(instanceId: string): Promise<void> {
    const instance = this.instances.get(instanceId);
    if (instance === undefined) throw new Error(`no instance ${instanceId}`);
    const wasRunning = instance.state === "running" && !instance.paused;
    instance.state = "shutting-down";
    instance.health?.stop();
    if (instance.bootTimer) clearTimeout(instance.bootTimer);
    await instance.handle?.stop(wasRunning ? SHUTDOWN_GRACE_MS : 2000);
    instance.state = "terminated";
    await instance.placement.release();
    const addresses = await this.o.ec2.send(
      new DescribeAddressesCommand({ AllocationIds: [this.o.eipAllocationId] }),
    );
    const address = addresses.Addresses?.[0];
    if (address?.InstanceId === instanceId && address.AssociationId) {
      await this.o.ec2.send(new DisassociateAddressCommand({ AssociationId: address.AssociationId }));
    }
    await this.o.source.retire(instanceId);
    await this.o.onTerminated();
  }

  /** A crash: the instance's process dies by SIGKILL; the group notices and replaces it. */
  kill(instanceId: string): void {
    this.live(instanceId).handle?.signal("SIGKILL");
  }

  pause(instanceId: string): void {
    const i = this.live(instanceId);
    i.handle?.signal("SIGSTOP");
    i.paused = true;
  }

  resume(instanceId: string): void {
    const i = this.live(instanceId);
    i.handle?.signal("SIGCONT");
    i.paused = false;
  }

  list(): InstanceInfo[] {
    return [...this.instances.values()].map(info);
  }

  /** Stops every instance's service; the fleet launches nothing after this. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled(
      [...this.instances.values()].map(async (i) => {
        i.health?.stop();
        if (i.bootTimer) clearTimeout(i.bootTimer);
        if (i.state !== "terminated") i.state = "terminated";
        i.handle?.signal("SIGCONT");
        await i.handle?.stop();
        await i.placement.release();
      }),
    );
  }

  private live(instanceId: string): Instance {
    const instance = this.instances.get(instanceId);
    if (instance === undefined || instance.state === "terminated")
      throw new Error(`no live instance ${instanceId}`);
    return instance;
  }
}

function info(i: Instance): InstanceInfo {
  return {
    instanceId: i.instanceId,
    role: i.role,
    state: i.state,
    pid: i.handle?.pid,
    port: i.port,
    privatePort: i.placement.privatePort,
    privateIp: i.privateIp,
    launchedAt: i.launchedAt,
    startedAt: i.startedAt,
    paused: i.paused,
    reason: i.reason,
  };
}
