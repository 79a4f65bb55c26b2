/**
 * The process runtime's infrastructure: moto and Redis as child processes on 127.0.0.1 (or given
 * endpoints), the SQS endpoint as a TCP proxy, the Elastic IP edge in this process, and one metadata
 * server per instance on the host.
 */
import { EC2Client } from "@aws-sdk/client-ec2";
import { AwsEmulator, startMoto } from "./aws-emulator";
import { CloudResources } from "./cloud-resources";
import { ElasticIpEdge } from "./edge";
import {
  ElasticIpView,
  Infrastructure,
  InstanceIdentity,
  InstancePlacement,
  QueueEndpoint,
} from "./infrastructure";
import { MetadataServer } from "./metadata-server";
import { freePort } from "./ports";
import { RedisHandle } from "./redis-server";
import { TcpProxy } from "./tcp-proxy";

export interface ProcessInfrastructureOptions {
  edgePort: number;
  motoPort?: number;
  awsEndpoint?: string;
  redisPort?: number;
  redisUrl?: string;
  /** The password of the Redis started here (an external `redisUrl` carries its own). */
  redisPassword: string;
  labels: Record<string, string>;
  onLog: (source: string, line: string, stream: "stdout" | "stderr") => void;
}

export class ProcessInfrastructure implements Infrastructure {
  readonly kind = "process" as const;

  private constructor(
    private readonly options: ProcessInfrastructureOptions,
    readonly awsEndpoint: string,
    readonly redisUrl: string,
    private readonly proxy: TcpProxy,
    private readonly moto: AwsEmulator | undefined,
    readonly redis: RedisHandle | undefined,
  ) {}

  static async start(o: ProcessInfrastructureOptions): Promise<ProcessInfrastructure> {
    const results = await Promise.allSettled([
      o.awsEndpoint === undefined ? startMoto(o.motoPort ?? 4566, o.labels, o.onLog) : undefined,
      o.redisUrl === undefined
        ? RedisHandle.start(o.redisPort ?? 6379, o.redisPassword, o.labels, o.onLog)
        : undefined,
    ]);
    const moto = results[0].status === "fulfilled" ? results[0].value : undefined;
    const redis = results[1].status === "fulfilled" ? results[1].value : undefined;
    const started = [moto, redis].filter((s) => s !== undefined);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) {
      await Promise.allSettled(started.map((s) => s.stop()));
      throw failed.reason;
    }
    const awsEndpoint = o.awsEndpoint ?? moto?.endpoint ?? "";
    const redisUrl = o.redisUrl ?? redis?.url ?? "";
    const awsUrl = new URL(awsEndpoint);
    const proxy = new TcpProxy({ host: awsUrl.hostname, port: Number(awsUrl.port || 80) });
    try {
      await proxy.start();
    } catch (err) {
      await Promise.allSettled(started.map((s) => s.stop()));
      throw err;
    }
    return new ProcessInfrastructure(o, awsEndpoint, redisUrl, proxy, moto, redis);
  }

  get queueEndpoint(): QueueEndpoint {
    return this.proxy;
  }

  queueUrlForInstances(queueUrl: string): string {
    const url = new URL(queueUrl);
    url.host = `127.0.0.1:${this.proxy.port}`;
    return url.toString();
  }

  async startEdge(
    resources: CloudResources,
    ec2: EC2Client,
    targetOf: (instanceId: string) => { host: string; port: number } | undefined,
  ): Promise<ElasticIpView> {
    const edge = new ElasticIpEdge({
      port: this.options.edgePort,
      allocationId: resources.eipAllocationId,
      ec2,
      targetOf,
    });
    await edge.start();
    return edge;
  }

  async place(identity: InstanceIdentity): Promise<InstancePlacement> {
    const metadata = new MetadataServer({
      instanceId: identity.instanceId,
      availabilityZone: "us-east-1a",
      privateIp: identity.privateIp,
      instanceType: identity.instanceType,
      amiId: identity.amiId,
    });
    const port = identity.role === "controller" ? await freePort() : undefined;
    return {
      port,
      boot: async () => {
        const metadataEndpoint = await metadata.start();
        const env: Record<string, string> = {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: process.env.HOME ?? "/tmp",
          AWS_ENDPOINT_URL: this.awsEndpoint,
          // SQS goes through its endpoint, which chaos can cut, as a VPC interface endpoint would fail.
          AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${this.proxy.port}`,
          AWS_EC2_METADATA_SERVICE_ENDPOINT: metadataEndpoint,
          FAAS_REDIS_URL: this.redisUrl,
          ...(identity.role === "controller"
            ? { FAAS_HOST: "127.0.0.1", FAAS_PORT: String(port) }
            : { FAAS_CONTROLLER_URL: `http://127.0.0.1:${this.options.edgePort}` }),
        };
        return { env, spec: {} };
      },
      healthTarget: () => Promise.resolve(port === undefined ? undefined : { host: "127.0.0.1", port }),
      release: () => metadata.stop(),
    };
  }

  async stop(): Promise<void> {
    await this.proxy.stop();
    await Promise.allSettled([this.redis?.stop(), this.moto?.stop()]);
  }
}
