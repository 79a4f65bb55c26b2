/**
 * The Elastic IP edge: the only public address. It listens where the Elastic IP would be (locally
 * 127.0.0.1:8080) and forwards each request to the instance the address is associated with in the
 * AWS emulator; with no association it answers 503, as an unassociated Elastic IP would time out.
 * The association is re-read every `refreshMs` and at once after a failed forward.
 */
import http from "node:http";
import { DescribeAddressesCommand, EC2Client } from "@aws-sdk/client-ec2";

export interface EdgeOptions {
  port: number;
  host?: string;
  allocationId: string;
  ec2: EC2Client;
  /** Where an instance serves HTTP, or undefined when it has no running server. */
  targetOf: (instanceId: string) => { host: string; port: number } | undefined;
  refreshMs?: number;
}

export class ElasticIpEdge {
  private server: http.Server | undefined;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256, timeout: 30_000 });
  private associatedWith: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: EdgeOptions) {}

  get instanceId(): string | undefined {
    return this.associatedWith;
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.refreshMs ?? 200);
    this.server = http.createServer((req, res) => {
      this.forward(req, res);
    });
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      this.server?.once("error", reject);
      this.server?.listen(this.options.port, this.options.host ?? "127.0.0.1", resolve);
    });
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.agent.destroy();
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async refresh(): Promise<void> {
    try {
      const out = await this.options.ec2.send(
        new DescribeAddressesCommand({ AllocationIds: [this.options.allocationId] }),
      );
      const id = out.Addresses?.[0]?.InstanceId;
      this.associatedWith = id === undefined || id === "" ? undefined : id;
    } catch {
      // Keep the last known association while the EC2 API hiccups.
    }
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const instanceId = this.associatedWith;
    const target = instanceId === undefined ? undefined : this.options.targetOf(instanceId);
    if (instanceId === undefined || target === undefined) {
      unavailable(
        res,
        instanceId === undefined
          ? "the Elastic IP is not associated with any instance (a controller is booting or being replaced); retry shortly"
          : `the Elastic IP points to ${instanceId}, which is not serving`,
      );
      return;
    }
    const upstream = http.request(
      {
        host: target.host,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, "x-forwarded-for": req.socket.remoteAddress ?? "" },
        agent: this.agent,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("error", (err) => {
      void this.refresh();
      if (!res.headersSent)
        unavailable(res, `the instance behind the Elastic IP (${instanceId}) did not answer: ${err.message}`);
      else res.destroy();
    });
    req.pipe(upstream);
  }
}

function unavailable(res: http.ServerResponse, message: string): void {
  const body = JSON.stringify({ error: { code: "ServiceUnavailable", message } });
  res.writeHead(503, {
    "content-type": "application/json",
    "retry-after": "1",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}
