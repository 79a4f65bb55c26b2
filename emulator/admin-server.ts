/** The local cloud's own control API on 127.0.0.1, for `faas dev status` (and later kill/pause). */
import http from "node:http";
import { Environment } from "./environment";

export interface EnvironmentStatus {
  envId: string;
  endpoint: string;
  awsEndpoint: string;
  redisUrl: string;
  runtime: string;
  elasticIp: { allocationId: string; publicIp: string; instanceId: string | null };
  instances: ReturnType<Environment["list"]>;
}

export function environmentStatus(env: Environment): EnvironmentStatus {
  return {
    envId: env.envId,
    endpoint: env.endpoint,
    awsEndpoint: env.awsEndpoint,
    redisUrl: env.redisUrl,
    runtime: env.runtime.kind,
    elasticIp: {
      allocationId: env.resources.eipAllocationId,
      publicIp: env.resources.eipPublicIp,
      instanceId: env.elasticIpHolder ?? null,
    },
    instances: env.list(),
  };
}

export async function startAdminServer(
  env: Environment,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/status") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(environmentStatus(env)));
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code: "NotFound", message: "no such route" } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
