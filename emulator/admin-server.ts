/**
 * The local cloud's own control API on 127.0.0.1, for `faas dev status|activities|kill|pause|resume`.
 * It acts on instances the way an operator (or a chaos experiment) would on EC2. Every call needs the
 * token written to the CLI's state file (mode 600): any process of the machine reaches the loopback.
 * `/status` includes each log group's Error lines of the last hour, counted incrementally
 * (cloudwatch/error-count.ts) so the call stays fast.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { ErrorLineCounter, GroupErrorCount } from "./cloudwatch/error-count";
import { InstanceInfo } from "./environment";
import { ScalingActivity } from "./reconciler";

/** What the control API reads and acts on: the running Environment (a fake in unit tests). */
export interface AdminTarget {
  readonly envId: string;
  readonly endpoint: string;
  readonly awsEndpoint: string;
  readonly redisUrl: string;
  readonly runtime: { readonly kind: string };
  readonly resources: {
    readonly eipAllocationId: string;
    readonly eipPublicIp: string;
    readonly logGroups: { readonly controller: string; readonly worker: string };
  };
  readonly clients: { readonly logs: CloudWatchLogsClient };
  readonly elasticIpHolder: string | undefined;
  readonly reconciler: { list(): ScalingActivity[] };
  list(): InstanceInfo[];
  kill(instanceId: string): void;
  pause(instanceId: string): void;
  resume(instanceId: string): void;
  terminate(instanceId: string): Promise<void>;
}

export interface EnvironmentStatus {
  envId: string;
  endpoint: string;
  awsEndpoint: string;
  redisUrl: string;
  runtime: string;
  elasticIp: { allocationId: string; publicIp: string; instanceId: string | null };
  instances: InstanceInfo[];
  /** Each log group's Error lines (its metric filters evaluated over the shipped events); `/status` only. */
  logs?: GroupErrorCount[];
}

export function environmentStatus(env: AdminTarget): EnvironmentStatus {
  return {
    envId: env.envId,
    endpoint: env.endpoint,
    awsEndpoint: env.awsEndpoint,
    redisUrl: withoutPassword(env.redisUrl),
    runtime: env.runtime.kind,
    elasticIp: {
      allocationId: env.resources.eipAllocationId,
      publicIp: env.resources.eipPublicIp,
      instanceId: env.elasticIpHolder ?? null,
    },
    instances: env.list(),
  };
}

type Verb = "kill" | "pause" | "resume" | "terminate";

/** What each route does to a live instance. The answer waits for it: a failure is an error, never a crash. */
const ACTIONS: Record<Verb, (env: AdminTarget, id: string) => void | Promise<void>> = {
  kill: (env, id) => env.kill(id),
  pause: (env, id) => env.pause(id),
  resume: (env, id) => env.resume(id),
  terminate: (env, id) => env.terminate(id),
};

async function act(env: AdminTarget, verb: Verb, id: string): Promise<{ status: number; body: unknown }> {
  if (!env.list().some((i) => i.instanceId === id && i.state !== "terminated"))
    return { status: 404, body: { error: { code: "NotFound", message: `no live instance ${id}` } } };
  try {
    await ACTIONS[verb](env, id);
    return { status: 200, body: { instanceId: id, action: verb } };
  } catch (err) {
    return {
      status: 500,
      body: { error: { code: "ActionFailed", message: `${verb} ${id} failed: ${String(err)}` } },
    };
  }
}

function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/i.exec(header ?? "")?.[1] ?? "");
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function startAdminServer(
  env: AdminTarget,
): Promise<{ url: string; token: string; close: () => Promise<void> }> {
  const token = randomBytes(24).toString("base64url");
  const errorLines = new ErrorLineCounter(env.clients.logs, [
    env.resources.logGroups.controller,
    env.resources.logGroups.worker,
  ]);
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (!tokenMatches(req.headers.authorization, token))
      return send(401, {
        error: {
          code: "Unauthorized",
          message: "send 'Authorization: Bearer <adminToken from the dev state file>'",
        },
      });
    const action = /^\/instances\/([\w-]+)\/(kill|pause|resume|terminate)$/.exec(req.url ?? "");
    if (req.method === "GET" && req.url === "/status") {
      const status = environmentStatus(env);
      void errorLines
        .counts()
        .then((logs) => send(200, { ...status, logs }))
        .catch(() => send(200, status));
      return;
    }
    if (req.method === "GET" && req.url === "/activities")
      return send(200, { Activities: env.reconciler.list() });
    if (req.method === "POST" && action) {
      const [, id = "", verb = "kill"] = action;
      void act(env, verb as Verb, id)
        .then(({ status, body }) => send(status, body))
        .catch(() => res.destroy());
      return;
    }
    send(404, { error: { code: "NotFound", message: "no such route" } });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
