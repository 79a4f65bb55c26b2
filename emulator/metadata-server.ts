/**
 * One instance metadata service per instance, IMDSv2 only: PUT /latest/api/token issues a token with
 * its TTL, and every GET needs it in X-aws-ec2-metadata-token (401 otherwise), as on EC2. moto's own
 * metadata endpoint serves the static id `i-fake` to everyone, which cannot tell instances apart.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";

export interface InstanceMetadata {
  instanceId: string;
  availabilityZone: string;
  privateIp: string;
  publicIp?: string;
  instanceType: string;
  amiId: string;
  userData?: string;
}

export class MetadataServer {
  private readonly tokens = new Map<string, number>();
  private server: http.Server | undefined;
  port = 0;

  constructor(private readonly metadata: InstanceMetadata) {}

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    const address = this.server.address();
    this.port = typeof address === "object" && address !== null ? address.port : 0;
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    // Real IMDS tolerates repeated slashes, and some SDK versions send them.
    const url = (req.url ?? "/").replace(/\/{2,}/g, "/");
    if (req.method === "PUT" && url === "/latest/api/token") {
      const ttl = Number(req.headers["x-aws-ec2-metadata-token-ttl-seconds"]);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return send(res, 400, "");
      const token = randomBytes(24).toString("base64url");
      this.tokens.set(token, Date.now() + ttl * 1000);
      res.setHeader("x-aws-ec2-metadata-token-ttl-seconds", String(ttl));
      return send(res, 200, token);
    }
    if (req.method !== "GET") return send(res, 405, "");
    const token = req.headers["x-aws-ec2-metadata-token"];
    const expires = typeof token === "string" ? this.tokens.get(token) : undefined;
    if (expires === undefined || expires < Date.now()) return send(res, 401, "");
    const m = this.metadata;
    const values: Record<string, string | undefined> = {
      "/latest/meta-data/instance-id": m.instanceId,
      "/latest/meta-data/placement/availability-zone": m.availabilityZone,
      "/latest/meta-data/placement/region": m.availabilityZone.slice(0, -1),
      "/latest/meta-data/local-ipv4": m.privateIp,
      "/latest/meta-data/public-ipv4": m.publicIp,
      "/latest/meta-data/instance-type": m.instanceType,
      "/latest/meta-data/ami-id": m.amiId,
      "/latest/user-data": m.userData,
    };
    const value = values[url.replace(/\/$/, "")];
    if (value === undefined) return send(res, 404, "");
    send(res, 200, value);
  }
}

function send(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "text/plain" });
  res.end(body);
}
