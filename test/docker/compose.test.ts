/**
 * The containerized topology: compose brings up the VPC (public, internal private, internal cloud), the
 * platform deploys and invokes through the edge on 127.0.0.1, a worker reaches only its endpoints and
 * the controller's private address, and a controller killed with `docker kill` is replaced by the
 * compose file's own reconciler service with a new instance that claims the Elastic IP. Inside a worker container, the exact command the
 * worker runs a function with (a cgroup attach, setpriv, bubblewrap) works and contains the function.
 * Traffic goes only to this machine's own addresses.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { DescribeAddressesCommand, DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { PlatformClient } from "../../client/platform-client";
import { notYet, RETRY_BACKOFF, waitFor } from "../../emulator/wait";
import {
  dockerOrSkipReason,
  execIn,
  ipOn,
  listenOn,
  probeFrom,
  Topology,
  upTopology,
  workersBehindEdge,
} from "./fixtures";

const run = promisify(execFile);

describe("docker: the compose topology", function () {
  let topology: Topology | undefined;
  let startedAt = 0;

  before(async function () {
    const reason = await dockerOrSkipReason();
    if (reason !== undefined) this.skip();
    startedAt = Date.now();
    topology = await upTopology();
  });

  after(async function () {
    await topology?.down();
    if (topology) {
      const left = await topology.docker.listContainers({
        all: true,
        filters: JSON.stringify({ label: [`faas.env=${topology.envId}`] }),
      });
      expect(left, "containers left behind").to.have.length(0);
    }
  });

  it("deploys and invokes through the edge on 127.0.0.1, functions running in their sandbox", async function () {
    const t = topology!;
    await t.api.client.deploy("hello", {
      source:
        "exports.handler = async (e) => ({ hello: e.name, uid: process.getuid(), env: Object.keys(process.env) })",
    });
    const answer = await t.api.invoke("hello", { name: "docker" });
    expect(answer.status, answer.text).to.equal(200);
    const body = answer.body as { hello: string; uid: number; env: string[] };
    expect(body.hello).to.equal("docker");
    // The sandbox's own uid (bubblewrap's --uid); on the host it is one of the worker's pool's.
    expect(body.uid).to.equal(1000);
    expect(body.env.filter((k) => k.startsWith("AWS_") || k === "FAAS_WORKER_SECRET")).to.deep.equal([]);
    process.stderr.write(`      compose up to first invocation: ${Date.now() - startedAt} ms\n`);
  });

  it("publishes only the edge, on 127.0.0.1", async function () {
    const t = topology!;
    const containers = await t.docker.listContainers({
      filters: JSON.stringify({ label: [`faas.env=${t.envId}`] }),
    });
    const published = containers.flatMap((c) =>
      // The engine leaves PublicPort out for ports it does not publish, whatever the typings say.
      (c.Ports as { IP?: string; PublicPort?: number }[])
        .filter((p) => p.PublicPort !== undefined)
        .map((p) => `${p.IP ?? ""}:${p.PublicPort ?? ""}`),
    );
    expect(published).to.deep.equal([`127.0.0.1:${t.edgePort}`]);
  });

  it("makes the private and cloud networks internal, with the firewall rules that close the host hole", async function () {
    const t = topology!;
    for (const [name, internal] of [
      ["public", false],
      ["private", true],
      ["cloud", true],
    ] as const) {
      const info = (await t.docker.getNetwork(t.network(name)).inspect()) as {
        Internal: boolean;
        Labels: Record<string, string>;
      };
      expect(info.Internal, name).to.equal(internal);
      expect(info.Labels["faas.env"]).to.equal(t.envId);
    }
    const rules = (await run("iptables", ["-S"])).stdout;
    for (const name of ["private", "cloud"] as const) {
      const tagged = rules.split("\n").filter((l) => l.includes(`faas-isolation:${t.network(name)}"`));
      expect(
        tagged.filter((l) => l.startsWith("-A INPUT") && l.includes("REJECT")),
        name,
      ).to.have.length(1);
      expect(
        tagged.filter((l) => l.startsWith("-A DOCKER-USER")),
        name,
      ).to.have.length(1);
    }
  });

  it("lets a worker reach its endpoints and the controller's private address, and nothing else", async function () {
    const t = topology!;
    const worker = await t.container("worker-1");
    const controllerEni = await t.container("controller-eni");
    const edge = await t.container("edge");
    const gateway = (
      (await t.docker.getNetwork(t.network("private")).inspect()) as {
        IPAM: { Config: { Gateway: string }[] };
      }
    ).IPAM.Config[0]!.Gateway;
    const hostService = await listenOn(gateway);
    try {
      expect(await probeFrom(worker, "aws", 5000), "AWS endpoint").to.equal("connected");
      expect(await probeFrom(worker, "redis", 6379), "Redis endpoint").to.equal("connected");
      expect(await probeFrom(worker, "controller", 8080), "controller, private").to.equal("connected");
      const closed = ["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "timeout", "ENOTFOUND", "EAI_AGAIN"];
      const publicIp = await ipOn(controllerEni, t.network("public"));
      expect(await probeFrom(worker, publicIp, 8080), "controller, public").to.be.oneOf(closed);
      expect(await probeFrom(worker, await ipOn(edge, t.network("public")), 8080), "edge").to.be.oneOf(
        closed,
      );
      // Inside the VPC the Elastic IP's DNS name resolves to its holder: the edge answers for
      // `controller` on the private network (on the API's port only), never on its public address.
      expect(await probeFrom(worker, "edge", 8080), "the edge, the address's private side").to.equal(
        "connected",
      );
      expect(await probeFrom(worker, "edge", 5000), "nothing else of the edge").to.be.oneOf(closed);
      expect(await probeFrom(worker, gateway, hostService.port), "host service on the bridge").to.be.oneOf(
        closed,
      );
    } finally {
      await hostService.close();
    }
  });

  it("runs a function in the worker container's sandbox: its own uid, only lo, its own processes, its cgroup", async function () {
    const t = topology!;
    const worker = await t.container("worker-1");
    const id = `test-${randomBytes(4).toString("hex")}`;
    const limit = 128 * 1024 * 1024;
    // What the worker does for a sandbox: code readable by any uid, one cgroup per controller under its
    // own (`/` in its cgroup namespace, images/worker/boot.sh), a memory limit. The image has no
    // coreutils: node does the preparing, as the worker would.
    const prepare = `
      const fs = require("fs"), [id, limit] = process.argv.slice(1);
      fs.mkdirSync("/tmp/" + id + "/code", { recursive: true, mode: 0o755 });
      fs.chmodSync("/tmp/" + id, 0o755);
      fs.writeFileSync("/tmp/" + id + "/code/index.js", ${JSON.stringify(SANDBOX_PROBE)}, { mode: 0o644 });
      fs.writeFileSync("/tmp/" + id + "/info.js", 'require("/var/task/index.js")', { mode: 0o644 });
      fs.writeFileSync("/tmp/" + id + "/hog.js", ${JSON.stringify(MEMORY_HOG)}, { mode: 0o644 });
      for (const c of ["memory", "cpu", "pids", "freezer"])
        fs.mkdirSync("/sys/fs/cgroup/" + c + "/faas-sandboxes/" + id, { recursive: true });
      fs.writeFileSync("/sys/fs/cgroup/memory/faas-sandboxes/" + id + "/memory.limit_in_bytes", limit);
      fs.writeFileSync("/sys/fs/cgroup/pids/faas-sandboxes/" + id + "/pids.max", "64");`;
    const cleanup = `
      const fs = require("fs"), id = process.argv[1];
      for (const c of ["memory", "cpu", "pids", "freezer"])
        try { fs.rmdirSync("/sys/fs/cgroup/" + c + "/faas-sandboxes/" + id); } catch (e) { console.error(e.message); }
      fs.rmSync("/tmp/" + id, { recursive: true, force: true });`;
    const cgroup = (c: string) => `/sys/fs/cgroup/${c}/faas-sandboxes/${id}`;
    const read = async (file: string) =>
      (
        await execIn(worker, [
          "node",
          "-e",
          `process.stdout.write(require("fs").readFileSync(${JSON.stringify(file)}, "utf8"))`,
        ])
      ).stdout.trim();
    const sandboxed = (bootstrap: string) => [
      "/bin/sh",
      "-c",
      'for f; do shift; [ "$f" = -- ] && break; echo $$ > "$f"; done; exec "$@"',
      "sh",
      ...["memory", "cpu", "pids", "freezer"].map((c) => `${cgroup(c)}/cgroup.procs`),
      "--",
      ...["/usr/bin/setpriv", "--reuid", "100123", "--regid", "100123", "--clear-groups", "--"],
      ...["/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"],
      ...["--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64"],
      ...["--symlink", "usr/bin", "/bin", "--ro-bind", "/usr/bin/node", "/opt/faas/node"],
      ...[
        "--ro-bind",
        `/tmp/${id}/${bootstrap}`,
        "/opt/faas/bootstrap.js",
        "--ro-bind",
        `/tmp/${id}/code`,
        "/var/task",
      ],
      ...[
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        "67108864",
        "--tmpfs",
        "/tmp",
        "--chdir",
        "/var/task",
      ],
      ...[
        "--uid",
        "1000",
        "--gid",
        "1000",
        "--hostname",
        "sandbox",
        "/opt/faas/node",
        "/opt/faas/bootstrap.js",
      ],
    ];
    const prepared = await execIn(worker, ["node", "-e", prepare, id, String(limit)]);
    expect(prepared.code, prepared.stderr).to.equal(0);
    try {
      const info = await execIn(worker, sandboxed("info.js"));
      expect(info.code, info.stderr).to.equal(0);
      const seen = JSON.parse(info.stdout) as {
        uid: number;
        interfaces: string[];
        pids: string[];
        hostname: string;
        redis: string;
      };
      expect(seen.uid).to.equal(1000);
      expect(seen.interfaces, "network interfaces").to.deep.equal(["lo"]);
      // bubblewrap's init (1) and node (2): nothing of the worker's container.
      expect(seen.pids, "processes in /proc").to.deep.equal(["1", "2"]);
      expect(seen.hostname).to.equal("sandbox");
      expect(seen.redis, "resolving redis").to.be.oneOf(["ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED"]);
      expect(Number(await read(`${cgroup("memory")}/memory.limit_in_bytes`))).to.equal(limit);
      expect(
        Number(await read(`${cgroup("memory")}/memory.max_usage_in_bytes`)),
        "charged to its cgroup",
      ).to.be.above(0);

      // A function that allocates 3x its limit is killed by the kernel inside its cgroup.
      const hog = await execIn(worker, sandboxed("hog.js"), 60_000);
      expect(hog.stdout, "the hog survived its memory limit").to.not.include("survived");
      expect(hog.code).to.not.equal(0);
      expect(await read(`${cgroup("memory")}/memory.oom_control`)).to.match(/oom_kill [1-9]/);
    } finally {
      await execIn(worker, ["node", "-e", cleanup, id]).catch(() => undefined);
    }
  });

  it("replaces a killed controller (docker kill) with a new instance that claims the Elastic IP, by the reconciler service alone", async function () {
    const t = topology!;
    const aws = await t.container("aws");
    const ec2 = new EC2Client({
      endpoint: `http://${await ipOn(aws, t.network("cloud"))}:5000`,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    const before = (await t.api.workers()).controllerInstanceId;
    const old = await t.container("controller");
    const killedAt = Date.now();
    // As a user would: `docker kill` of the controller's container, and nothing else. The reconciler
    // service must notice, terminate the instance and launch a replacement that claims the address.
    await old.kill({ signal: "SIGKILL" });

    const edge = new PlatformClient(`http://127.0.0.1:${t.edgePort}`, t.apiKey, {
      requestTimeoutMs: 3000,
      retry: false,
    });
    const replacement = await waitFor(
      "a new controller serving behind the Elastic IP",
      async () => {
        const health = await edge.health();
        return health.instanceId !== before ? health.instanceId : notYet(`${health.instanceId} still serves`);
      },
      { timeoutMs: 90_000, backoff: RETRY_BACKOFF },
    );
    const recoveredMs = Date.now() - killedAt;
    process.stderr.write(
      `      controller recovery on compose (docker kill → new instance serving): ${recoveredMs} ms\n`,
    );
    const address = await ec2.send(
      new DescribeAddressesCommand({ Filters: [{ Name: "tag:Name", Values: ["faas-controller"] }] }),
    );
    expect(address.Addresses, "one Elastic IP").to.have.length(1);
    expect(address.Addresses?.[0]?.InstanceId).to.equal(replacement);
    const terminated = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [before] }));
    expect(terminated.Reservations?.[0]?.Instances?.[0]?.State?.Name, "the old instance").to.equal(
      "terminated",
    );
    expect(
      await old
        .inspect()
        .then(() => "exists")
        .catch(() => "removed"),
      "the killed container was removed with its instance",
    ).to.equal("removed");

    await waitFor("workers re-registered", async () => (await workersBehindEdge(t.edgePort, t.apiKey)) >= 2, {
      timeoutMs: 30_000,
    });
    const answer = await t.api.invoke("hello", { name: "again" });
    expect(answer.status, answer.text).to.equal(200);
    ec2.destroy();
  });
});

/** What the sandboxed test function reports: who and where it is, what it can see and resolve. */
const SANDBOX_PROBE = `
const fs = require("fs"), os = require("os");
require("dns").lookup("redis", (err) => {
  console.log(JSON.stringify({
    uid: process.getuid(),
    interfaces: Object.keys(os.networkInterfaces()),
    pids: fs.readdirSync("/proc").filter((d) => /^[0-9]+$/.test(d)),
    hostname: os.hostname(),
    redis: err ? err.code : "resolved",
  }));
});`;

/** Allocates (and touches) up to 384 MB in 8 MB steps; prints "survived" if nothing stopped it. */
const MEMORY_HOG = `
const held = [];
for (let i = 0; i < 48; i++) held.push(Buffer.alloc(8 * 1024 * 1024, 1));
console.log("survived", held.length);`;
