/**
 * The security suite: every attack of docs/isolation.md's threat model against a real environment,
 * each asserting the contained outcome. It runs with workers as root, with workers as an ordinary
 * user, and on the Docker runtime (test/docker); a test that cannot apply in one of them says why
 * and is skipped, never passed silently.
 */
import { expect } from "chai";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import net from "node:net";
import AdmZip from "adm-zip";
import { SandboxGuarantees } from "../../contracts";
import { startAdminServer } from "../../emulator/admin-server";
import { processesLabelled } from "../../emulator/leftovers";
import { waitFor } from "../../emulator/wait";
import { TestEnvironment } from "../fixtures/environment";
import { ATTACKS } from "./attacks";

const WORKER_MAIN = path.resolve(__dirname, "../../services/worker/main.js");

export interface SuiteTarget {
  /** Starts the environment; the suite stops it. */
  start: () => Promise<TestEnvironment>;
  /** Whether the test process can see the sandboxes' processes in its own /proc (not on Docker). */
  hostProcesses: boolean;
  /** The sandboxes must report cgroup caps here (root, or a delegated subtree). */
  expectCgroups?: boolean;
}

function skip(ctx: Mocha.Context, reason: string): void {
  process.stdout.write(`      (skipped: ${reason})\n`);
  ctx.skip();
}

/** Host processes whose command line contains `needle`. */
function processesWith(needle: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(needle)) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Host pids of the runtimes serving a function (their environment names it) in environment `envId`:
 * one of their ancestors (the worker) carries its label. Another environment on the host (the other
 * security suite, run beside this one) may run a function of the same name.
 */
function runtimesOf(fn: string, envId: string): number[] {
  const labelled = new Set(processesLabelled(envId));
  return processesWith("/opt/faas/runtime/bootstrap.js").filter((pid) => {
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      return environ.includes(`FAAS_FUNCTION_NAME=${fn}`) && ancestors(pid).some((p) => labelled.has(p));
    } catch {
      return false;
    }
  });
}

function ancestors(pid: number): number[] {
  const out: number[] = [];
  for (let p = pid; p > 1;) {
    p = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1] ?? 0);
    if (p > 1) out.push(p);
  }
  return out;
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

function hostUid(pid: number): number {
  const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(uid);
}

export function securitySuite(title: string, target: SuiteTarget): void {
  describe(`security: ${title}`, function () {
    this.timeout(60_000);
    let t: TestEnvironment;
    let stop: (() => Promise<void>) | undefined;
    let sandbox: SandboxGuarantees | undefined;
    let workersBefore: string[] = [];

    /** Deploys a function that must be accepted (a PlatformError says why not). */
    const deploy = async (name: string, source: string, options: Record<string, unknown> = {}) => {
      await t.api.client.deploy(name, { source, ...options });
    };
    const failure = async (name: string, event: unknown = {}) => {
      const res = await t.api.invoke(name, event);
      expect(res.status, res.text).to.equal(500);
      const id = res.headers.get("x-invocation-id") ?? "";
      const view = await t.api.awaitInvocation(id);
      return { res, view, error: view.error ?? expect.fail(`invocation ${id} recorded no error`) };
    };

    before(async () => {
      t = await target.start();
      stop = () => t.env.stop();
      const list = (await t.api.workers()).workers;
      sandbox = list[0]?.sandbox;
      workersBefore = list.map((w) => w.workerId).sort();
      for (const [name, source] of Object.entries(ATTACKS)) {
        const options: Record<string, unknown> = { timeoutMs: 10_000 };
        if (name === "childHogsMemory" || name === "fillsTmp") options.memoryMb = 128;
        await deploy(
          name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
          source,
          options,
        );
      }
    });
    after(async () => {
      await stop?.();
    });

    it("the workers report a namespace sandbox with no network", () => {
      expect(sandbox, "sandbox guarantees in the heartbeat").to.not.equal(undefined);
      expect(sandbox?.mechanism).to.equal("bwrap");
      expect(sandbox?.network).to.equal("none");
      expect(sandbox?.namespaces).to.include.members(["user", "pid", "mount", "network"]);
      if (target.expectCgroups === true)
        expect(sandbox?.cgroups).to.include.members(["memory", "cpu", "pids", "freezer"]);
    });

    describe("paths", () => {
      it("a handler that is an absolute path or climbs out of the code is a 400 at deploy", async () => {
        for (const handler of [
          "/etc/passwd.x",
          "../../dist/x.handler",
          "a/../../b.handler",
          ".hidden.handler",
        ]) {
          const res = await t.api.deploy("bad-handler", ATTACKS.echo, { handler });
          expect(res.status, `${handler}: ${res.text}`).to.equal(400);
        }
      });

      it("a zip entry that climbs out of the code folder is refused and writes nothing", async () => {
        const zip = new AdmZip();
        zip.addFile("index.js", Buffer.from(ATTACKS.echo));
        zip.addFile("placeholder/escape.js", Buffer.from("x"));
        const entry = zip.getEntries().find((e) => e.entryName === "placeholder/escape.js");
        if (entry) entry.entryName = "../../escaped-by-zip.js";
        const res = await t.api.call("PUT", "/api/functions/zip-escape", {
          zip: zip.toBuffer().toString("base64"),
        });
        if (res.status === 400) return; // refused at deploy: nothing reached a worker
        const inv = await t.api.invoke("zip-escape");
        expect(inv.status, inv.text).to.equal(500);
        expect(processesWith("escaped-by-zip")).to.deep.equal([]);
      });

      it("sees only its code, the runtime and the system, all read-only, and nothing of the worker", async function () {
        const res = await t.api.invoke("looks-around", { workerFile: WORKER_MAIN });
        expect(res.status, res.text).to.equal(200);
        const seen = res.body as Record<string, unknown>;
        const allowed = [
          "bin",
          "dev",
          "lib",
          "lib32",
          "lib64",
          "libx32",
          "opt",
          "proc",
          "sbin",
          "tmp",
          "usr",
          "var",
        ];
        expect(
          (seen.root as string[]).filter((d) => !allowed.includes(d)),
          "top-level folders",
        ).to.deep.equal([]);
        expect(seen.writeBootstrap, "the sandbox bootstrap").to.match(/^ERR E(ROFS|ACCES|PERM)/);
        expect(seen.writeCode, "its own code").to.match(/^ERR E(ROFS|ACCES|PERM)/);
        expect(seen.writeEtc, "the system").to.match(/^ERR E(ROFS|ACCES|PERM)/);
        expect(seen.workerDist, "the worker's files").to.match(/^ERR /);
        for (const name of Object.keys(seen.env as object))
          expect(name).to.not.match(/^AWS_|REDIS|SECRET|QUEUE|NODE_CHANNEL|FAAS_(ENV|WORKER|CONTROLLER)/);
      });
    });

    describe("a function's behaviour fails only its own invocation", () => {
      const cases: [string, unknown, RegExp, RegExp][] = [
        ["returns-function", {}, /InvalidResult/, /cannot be serialised/],
        ["returns-big-int", {}, /TypeError|InvalidResult/, /BigInt/],
        ["returns-cycle", {}, /TypeError|InvalidResult/, /circular/i],
        ["returns-too-much", {}, /InvalidResult/, /over the limit/],
        ["throws-non-error", {}, /.+/, /.*/],
        ["garbles-channel", { how: "garbage" }, /ProtocolError/, /not valid JSON/],
        ["garbles-channel", { how: "huge" }, /ProtocolError/, /over the limit/],
        ["garbles-channel", { how: "bogus" }, /ProtocolError/, /not part of the protocol/],
      ];
      for (const [name, event, type, message] of cases) {
        it(`${name} ${JSON.stringify(event)}: a failed invocation with a clear error`, async () => {
          const { view, error } = await failure(name, event);
          expect(view.status).to.equal("failed");
          expect(view.attempts, "not retried").to.equal(1);
          expect(error.type).to.match(type);
          expect(error.message).to.match(message);
        });
      }

      it("results up to the cap reach their callers, several at once, without flooding the controller", async () => {
        const bytes = 5 * 1024 * 1024;
        const answers = await Promise.all([1, 2, 3, 4].map(() => t.api.invoke("returns-large", { bytes })));
        for (const res of answers) {
          expect(res.status, res.text.slice(0, 200)).to.equal(200);
          expect((res.body as string).length).to.equal(bytes);
        }
        const health = await fetch(`${t.env.endpoint}/healthz`);
        expect(health.status).to.equal(200);
      });

      it("every worker is still the same, registered and serving", async () => {
        const workers = await t.api.workers();
        expect(workers.workers.map((w) => w.workerId).sort()).to.deep.equal(workersBefore);
        const res = await t.api.invoke("echo", { still: "alive" });
        expect(res.status, res.text).to.equal(200);
      });
    });

    describe("no way out to the local cloud", () => {
      it("has only a loopback of its own: Redis, moto, the edge and the controller are unreachable", async () => {
        const seen = (await t.api.invoke("looks-around")).body as { interfaces: string[]; hostname: string };
        expect(seen.interfaces).to.deep.equal(["lo"]);
        expect(seen.hostname).to.equal("sandbox");
        const ports = [
          new URL(t.env.redisUrl).port,
          new URL(t.env.awsEndpoint).port,
          new URL(t.env.endpoint).port,
        ]
          .map(Number)
          .filter((p) => p > 0);
        const res = await t.api.invoke("connects", { ports });
        expect(res.status, res.text).to.equal(200);
        for (const port of ports)
          expect((res.body as Record<string, string>)[port], `port ${port}`).to.equal("ECONNREFUSED");
      });

      it("Redis refuses a client without the password", async () => {
        const url = new URL(t.env.redisUrl);
        const reply = await new Promise<string>((resolve, reject) => {
          const socket = net.connect({ host: url.hostname, port: Number(url.port) }, () =>
            socket.write("SET faas:result:forged {}\r\n"),
          );
          socket.once("data", (d) => {
            socket.destroy();
            resolve(d.toString());
          });
          socket.once("error", reject);
        });
        expect(reply).to.match(/^-NOAUTH/);
      });

      it("the local cloud's admin API (kill, pause) needs its token", async () => {
        const admin = await startAdminServer(t.env);
        try {
          const victim = t.env.live("controller")[0]?.instanceId ?? "none";
          const anonymous = await fetch(`${admin.url}/instances/${victim}/kill`, { method: "POST" });
          expect(anonymous.status).to.equal(401);
          expect(t.env.live("controller").map((i) => i.instanceId)).to.include(victim);
          const status = await fetch(`${admin.url}/status`, {
            headers: { authorization: `Bearer ${admin.token}` },
          });
          expect(status.status).to.equal(200);
          expect(JSON.stringify(await status.json()), "no Redis password in the status").to.not.include(
            new URL(t.env.redisUrl).password,
          );
        } finally {
          await admin.close();
        }
      });

      it("a queued task does not carry the function's env vars in clear", async () => {
        await deploy("holds-secret", ATTACKS.echo, { env: { API_TOKEN: "s3cr3t-value-for-the-test" } });
        const workers = t.env.live("worker");
        for (const w of workers) t.env.pause(w.instanceId);
        try {
          const accepted = await t.api.invokeAsync("holds-secret", {});
          expect(accepted.status).to.equal(202);
          // A paused worker's long poll may have taken the task: it comes back after the visibility timeout.
          let body = "";
          await waitFor(
            "the queued task",
            async () => {
              const out = await t.env.clients.sqs.send(
                new ReceiveMessageCommand({
                  QueueUrl: t.env.resources.queueUrl,
                  WaitTimeSeconds: 1,
                  VisibilityTimeout: 0,
                }),
              );
              body = out.Messages?.[0]?.Body ?? "";
              return body !== "";
            },
            { timeoutMs: 15_000 },
          );
          expect(body).to.include("holds-secret");
          expect(body).to.not.include("s3cr3t-value-for-the-test");
          expect(body).to.not.include("API_TOKEN");
        } finally {
          for (const w of workers) t.env.resume(w.instanceId);
        }
      });
    });

    describe("other functions are out of sight", () => {
      it("sees only its own processes", async () => {
        const seen = (await t.api.invoke("looks-around")).body as { pids: number[] };
        expect(
          seen.pids.every((p) => p <= 3),
          `pids ${seen.pids.join(",")}`,
        ).to.equal(true);
      });

      it("a file planted in /tmp is not there for another function", async () => {
        expect((await t.api.invoke("plants-in-tmp")).status).to.equal(200);
        const res = await t.api.invoke("looks-for-plant");
        expect(res.status, res.text).to.equal(200);
        expect(res.body).to.deep.include({ required: "ERR MODULE_NOT_FOUND" });
        expect((res.body as { tmp: string[] }).tmp).to.not.include("node_modules");
      });

      it("/tmp is private and size-capped", async () => {
        const res = await t.api.invoke("fills-tmp");
        expect(res.status, res.text).to.equal(200);
        const { mb, error } = res.body as { mb: number; error: string | null };
        expect(error).to.equal("ENOSPC");
        expect(mb).to.be.at.most(sandbox?.tmpMb ?? 64);
      });

      it("two functions run as different host uids when the worker is root", async function () {
        if (!target.hostProcesses) return skip(this, "the sandboxes' processes are inside containers");
        if (sandbox?.uidPerSandbox !== true)
          return skip(this, "the worker is not root: one host uid for all sandboxes (documented)");
        await Promise.all([t.api.invoke("echo"), t.api.invoke("looks-around")]);
        const [a] = runtimesOf("echo", t.env.envId);
        const [b] = runtimesOf("looks-around", t.env.envId);
        expect(a, "echo's runtime").to.not.equal(undefined);
        expect(b, "looks-around's runtime").to.not.equal(undefined);
        expect(hostUid(a ?? 0)).to.not.equal(hostUid(b ?? 0));
        expect(hostUid(a ?? 0)).to.be.at.least(100_000);
      });
    });

    describe("limits hold for the function and everything it starts", () => {
      it("a child process cannot hold 1 GB inside a 128 MB function", async () => {
        const { view, error } = await failure("child-hogs-memory");
        expect(view.status).to.equal("failed");
        expect(error.type).to.equal("OutOfMemory");
      });

      it("a detached child does not outlive its invocation, nor its timeout", async function () {
        if (!target.hostProcesses) return skip(this, "the sandboxes' processes are inside containers");
        const marker = `faas-daemon-${randomUUID()}`;
        const ok = await t.api.invoke("leaves-daemon", { marker });
        expect(ok.status, ok.text).to.equal(200);
        await waitFor("the daemon ended with its invocation", () => processesWith(marker).length === 0, {
          timeoutMs: 3000,
        });
        const hung = `${marker}-hung`;
        await deploy("leaves-daemon-briefly", ATTACKS.leavesDaemon, { timeoutMs: 500 });
        const res = await t.api.invoke("leaves-daemon-briefly", { marker: hung, hang: true });
        expect(res.status).to.equal(500);
        await waitFor("the daemon ended at the timeout", () => processesWith(hung).length === 0, {
          timeoutMs: 3000,
        });
      });

      it("a warm runtime uses no CPU between invocations", async function () {
        if (!target.hostProcesses) return skip(this, "the sandboxes' processes are inside containers");
        expect((await t.api.invoke("spins-in-background")).status).to.equal(200);
        const [pid] = runtimesOf("spins-in-background", t.env.envId);
        if (pid === undefined) throw new Error("no warm runtime of spins-in-background");
        const before = cpuTicks(pid);
        await new Promise((r) => setTimeout(r, 1000));
        const ticks = cpuTicks(pid) - before;
        expect(ticks, "clock ticks (1/100 s) used in one idle second").to.be.at.most(5);
      });

      it("the kernel keyring and io_uring answer EPERM (seccomp)", async function () {
        if (process.arch !== "x64")
          return skip(this, `the test's system call numbers are x86_64's, not ${process.arch}'s`);
        if (sandbox?.seccomp !== true) return skip(this, "the workers report no seccomp filter");
        // keyctl(KEYCTL_GET_KEYRING_ID, …) = 250, io_uring_setup(1, NULL) = 425; getpid = 39 is allowed.
        const res = await t.api.invoke("calls-kernel", {
          calls: [
            [250, [0, 0, 0, 0, 0]],
            [425, [1, 0]],
            [39, []],
          ],
        });
        expect(res.status, res.text).to.equal(200);
        const body = res.body as { errnos?: number[]; error?: string };
        if (body.error === "ENOENT")
          return skip(this, "the system has no /usr/bin/python3 to make raw system calls with");
        expect(body.errnos, JSON.stringify(body)).to.deep.equal([1, 1, 0]);
      });

      it("the number of processes is capped", async function () {
        if (sandbox?.cgroups.includes("pids") !== true && sandbox?.uidPerSandbox !== true)
          return skip(
            this,
            "no pids cgroup and no uid of its own: the process count is not capped (documented)",
          );
        const res = await t.api.invoke("forks", { n: 400 });
        expect(res.status, res.text).to.equal(200);
        expect((res.body as { alive: number }).alive).to.be.below(400);
      });

      it("a function at its concurrency limit leaves the slots to others", async () => {
        await deploy("hog", ATTACKS.sleeps, { maxConcurrency: 1, timeoutMs: 5000 });
        const first = t.api.invoke("hog", { ms: 1500 });
        await new Promise((r) => setTimeout(r, 200));
        const second = await t.api.invoke("hog", { ms: 10 });
        expect(second.status, second.text).to.equal(429);
        const started = Date.now();
        expect((await t.api.invoke("echo")).status).to.equal(200);
        expect(Date.now() - started).to.be.below(1000);
        expect((await first).status).to.equal(200);
      });
    });

    describe("code limits", () => {
      it("redeploying the same code under another handler file works on a worker that cached it", async () => {
        await deploy("renamed", ATTACKS.echo, { handler: "index.handler" });
        expect((await t.api.invoke("renamed")).status).to.equal(200);
        await deploy("renamed", ATTACKS.echo, { handler: "main.handler" });
        const res = await t.api.invoke("renamed", { again: true });
        expect(res.status, res.text).to.equal(200);
      });

      it("an env of 300 KB is a 400 at deploy, not a broken function", async () => {
        const res = await t.api.deploy("big-env", ATTACKS.echo, { env: { BIG: "x".repeat(300 * 1024) } });
        expect(res.status, res.text).to.equal(400);
      });

      it("code that unpacks past the worker's cap fails its invocation and leaves no folder behind", async function () {
        const cap = Number(t.env.options.workerEnv?.FAAS_MAX_UNPACKED_CODE_BYTES ?? 0);
        if (cap === 0 || cap > 8 * 1024 * 1024)
          return skip(this, "this environment keeps the default unpacked-size cap");
        const zip = new AdmZip();
        zip.addFile("index.js", Buffer.from(ATTACKS.echo));
        zip.addFile("padding.bin", Buffer.alloc(cap + 1024 * 1024, 0));
        const res = await t.api.call("PUT", "/api/functions/zip-bomb", {
          zip: zip.toBuffer().toString("base64"),
        });
        expect(res.status, res.text).to.be.oneOf([200, 201]);
        const { error } = await failure("zip-bomb");
        expect(error.message).to.match(/unpacks to more than/);
        const codeRoot = path.join(os.tmpdir(), `faas-code-${t.env.envId}`);
        if (target.hostProcesses) {
          const leftovers = readdirSync(codeRoot, { recursive: true })
            .map(String)
            .filter((p) => p.includes(".tmp-"));
          expect(leftovers).to.deep.equal([]);
        }
      });
    });
  });
}
