/**
 * `make deploy TARGET=local` beside a running environment (`make dev`'s, started here on free ports):
 * deploy.sh applies deploy/terraform under its own name to the environment's moto and boots it
 * (`faas local-deploy up`); the deployed controller — one of the instances moto's Auto Scaling groups
 * recorded, adopted — claims the Terraform Elastic IP and serves `faas fn deploy` and `faas fn invoke`
 * through the deployment's own edge, while the environment keeps serving; then destroy.sh stops every
 * process of the deployment and removes its resources (ElastiCache as far as moto allows: the
 * replication group stays listed as "deleting", the cache subnet group stays). Prints the apply, first-invocation and destroy times.
 * The default tls_mode (self-signed) end to end: deploy.sh makes the certificate once, keeps it in moto's
 * SSM and prints its SHA-256; the deployed controller serves HTTPS with it through the edge, the CLI and
 * the client pin it, and a client pinning another certificate is refused before it sends the key.
 */
import {
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeVpcsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { expect } from "chai";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { X509Certificate } from "node:crypto";
import { CertificateMismatchError } from "../../client/pinned-tls";
import { PlatformClient } from "../../client/platform-client";
import { selfSignedCertificate } from "../../emulator/tls";
import { Environment } from "../../emulator/environment";
import { processesLabelled } from "../../emulator/leftovers";
import { describeGroup } from "../../emulator/local-deploy/asg-source";
import { cacheRecords } from "../../emulator/local-deploy/cache-records";
import { GetParameterCommand, GetParametersByPathCommand } from "@aws-sdk/client-ssm";
import { destroyLocalAws, LocalAws, localAwsClients } from "../../emulator/local-deploy/aws-clients";
import { freePort } from "../../emulator/ports";
import { waitForWorkers } from "../../emulator/readiness";
import { pidAlive } from "../../cli/config";
import { readLocalDeployState } from "../../cli/local-deploy-state";
import { hasCommand } from "./moto-server";
import { repoRoot, scriptsDir } from "./terraform-cli";

const run = promisify(execFile);
const NAME = "faas-local";

describe("make deploy TARGET=local beside a running environment", function () {
  let env: Environment | undefined;
  let workdir = "";
  let edgePort = 0;
  let deployOutput = "";
  let applyS = 0;
  let localAws: LocalAws | undefined;
  const aws = () => (localAws ??= localAwsClients(env!.awsEndpoint, "us-east-1"));
  const clientConfig = () => ({
    endpoint: env!.awsEndpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  const script = async (name: string, extra: Record<string, string> = {}) => {
    const started = Date.now();
    try {
      const { stdout } = await run("bash", [path.join(scriptsDir, name)], {
        cwd: repoRoot,
        maxBuffer: 64 * 1024 * 1024,
        env: {
          ...process.env,
          TARGET: "local",
          AWS_ENDPOINT_URL: env!.awsEndpoint,
          FAAS_LOCAL_TF_DIR: workdir,
          NAME,
          EDGE_PORT: String(edgePort),
          ...extra,
        },
      });
      return { stdout, seconds: (Date.now() - started) / 1000 };
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`${name} failed: ${e.stderr ?? ""}\n${e.stdout?.slice(-4000) ?? ""}\n${e.message}`, {
        cause: err,
      });
    }
  };
  const state = () => readLocalDeployState(path.join(workdir, "runner.json"));

  before(async function () {
    if (!hasCommand("terraform") || !hasCommand("moto_server") || !hasCommand("redis-server")) this.skip();
    const apiKey = randomBytes(16).toString("hex");
    env = await Environment.start({
      backend: { kind: "process", motoPort: await freePort(), redisPort: await freePort() },
      edgePort: await freePort(),
      workers: 1,
      apiKey,
      workerSecret: randomBytes(16).toString("hex"),
    });
    expect((await waitForWorkers(env.endpoint, apiKey, 1, 30_000)).ready, "the environment serves").to.equal(
      true,
    );
    workdir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-local-deploy-"));
    edgePort = await freePort();
  });

  after(async function () {
    if (localAws !== undefined) destroyLocalAws(localAws);
    if (env === undefined) return;
    // A failed test must not leave the deployment running: stop it and remove what it applied.
    if (workdir !== "" && fs.existsSync(path.join(workdir, "terraform.tfstate")))
      await script("destroy.sh").catch((err: unknown) =>
        console.log(`      cleanup destroy failed: ${String(err)}`),
      );
    await env.stop();
    if (workdir !== "") fs.rmSync(workdir, { recursive: true, force: true });
  });

  it("applies under its own name beside the environment and boots the deployed groups", async () => {
    const { stdout, seconds } = await script("deploy.sh");
    deployOutput = stdout;
    applyS = Number(/applied to local in (\d+) s/.exec(stdout)?.[1]);
    console.log(
      `      terraform apply (TARGET=local) took ${applyS} s; deploy.sh in all ${seconds.toFixed(1)} s`,
    );
    expect(stdout).to.include(`the deployed platform serves at https://127.0.0.1:${edgePort}`);
    const runner = state();
    expect(runner?.ready).to.equal(true);
    expect(pidAlive(runner!.pid)).to.equal(true);
    // The certificate: made once, kept in SSM, its SHA-256 printed, and the one the controller serves.
    const printed = /FAAS_TLS_FINGERPRINT=((?:[0-9A-F]{2}:){31}[0-9A-F]{2})\n/.exec(stdout)?.[1];
    expect(printed, "deploy.sh prints the fingerprint").to.be.a("string");
    expect(stdout).to.include(`new, now in SSM /${NAME}/tls-cert`);
    expect(runner!.tlsFingerprint).to.equal(printed);
    const stored = await aws().ssm.send(
      new GetParameterCommand({ Name: `/${NAME}/tls-cert`, WithDecryption: true }),
    );
    expect(new X509Certificate(stored.Parameter?.Value ?? "").fingerprint256).to.equal(printed);
    expect(stored.Parameter?.Type).to.equal("SecureString");
    const key = await aws().ssm.send(
      new GetParameterCommand({ Name: `/${NAME}/tls-key`, WithDecryption: true }),
    );
    expect(key.Parameter?.Type).to.equal("SecureString");
    const tfState = fs.readFileSync(path.join(workdir, "terraform.tfstate"), "utf8");
    expect(tfState, "the API's private key in the state").to.not.contain(
      key.Parameter!.Value!.split("\n")[1]!,
    );
    expect(stdout).to.match(/curl -k --pinnedpubkey sha256\/\/[A-Za-z0-9+/]{43}= /);

    // The instances that run are the ones moto's groups recorded: adopted, none left without a service.
    for (const [groupName, role] of [
      [`${NAME}-controller`, "controller"],
      [`${NAME}-workers`, "worker"],
    ] as const) {
      const group = await describeGroup(aws(), groupName);
      expect(group?.role).to.equal(role);
      const inService = group!.instances
        .filter((i) => i.lifecycleState === "InService")
        .map((i) => i.instanceId);
      expect(inService).to.have.length(group!.desired);
      const services = processesLabelled(runner!.envId).filter((pid) =>
        fs.readFileSync(`/proc/${pid}/cmdline`, "latin1").includes(`services/${role}/main.js`),
      );
      expect(services, `one ${role} process per instance of ${groupName}`).to.have.length(inService.length);
    }
    // The controller claimed the Terraform Elastic IP for its adopted instance.
    const ec2 = new EC2Client(clientConfig());
    const addresses = await ec2.send(
      new DescribeAddressesCommand({ Filters: [{ Name: "tag:Name", Values: [`${NAME}-controller`] }] }),
    );
    const controllerGroup = await describeGroup(aws(), `${NAME}-controller`);
    expect(addresses.Addresses?.[0]?.InstanceId).to.equal(controllerGroup!.instances[0]!.instanceId);
    ec2.destroy();
  });

  it("serves faas fn deploy and invoke over HTTPS through its own edge, the certificate pinned, while the environment keeps serving", async () => {
    const runner = state()!;
    const cli = (...args: string[]) =>
      run("node", [path.join(repoRoot, "bin", "faas"), ...args], {
        cwd: repoRoot,
        env: {
          ...process.env,
          FAAS_ENDPOINT: runner.endpoint,
          FAAS_API_KEY: runner.apiKey,
          FAAS_TLS_FINGERPRINT: runner.tlsFingerprint ?? "",
        },
      });
    const deployed = await cli(
      "fn",
      "deploy",
      path.join(repoRoot, "examples", "functions", "hello"),
      "--name",
      "hello",
    );
    expect(deployed.stdout).to.match(/hello/);
    const invoked = await cli("fn", "invoke", "hello", "--data", JSON.stringify({ name: "terraform" }));
    expect(invoked.stdout).to.match(/terraform/);
    const firstServedS = (Date.now() - runner.startedAt) / 1000;
    console.log(
      `      the deployment served its first invocation ${firstServedS.toFixed(1)} s after its runner started (ready in ${((runner.readyMs ?? 0) / 1000).toFixed(1)} s)`,
    );
    // The deployed worker ran it: its id names one of the deployed group's instances.
    const client = new PlatformClient(runner.endpoint, runner.apiKey, {
      tlsFingerprint: runner.tlsFingerprint!,
    });
    expect((await client.invoke("hello", { name: "pinned" })).body).to.deep.equal({
      message: "Hello, pinned!",
    });
    const workers = await client.workers();
    const group = await describeGroup(aws(), `${NAME}-workers`);
    expect(workers.workers.map((w) => w.instanceId)).to.have.members(
      group!.instances.map((i) => i.instanceId),
    );
    // The environment it runs beside still serves, with its own workers.
    const envWorkers = await new PlatformClient(env!.endpoint, env!.options.apiKey).workers();
    expect(envWorkers.workers.map((w) => w.instanceId)).to.not.include.members(
      group!.instances.map((i) => i.instanceId),
    );
    expect(envWorkers.workers).to.have.length(1);
    expect(deployOutput).to.include("FAAS_API_KEY=");
  });

  it("refuses, before sending the key, a client that pins another certificate or none", async () => {
    const runner = state()!;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-local-deploy-tls-"));
    try {
      const other = await selfSignedCertificate(dir, { ips: ["127.0.0.1"] });
      const wrong = new PlatformClient(runner.endpoint, runner.apiKey, {
        tlsFingerprint: other.fingerprint256,
      });
      const err = await wrong.listFunctions().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(CertificateMismatchError);
      expect((err as Error).message).to.include(runner.tlsFingerprint!);
      expect(wrong.stats.retries, "a wrong server is not retried").to.equal(0);
      // The CLI with a wrong pin fails the same way and says so.
      const cli = await run("node", [path.join(repoRoot, "bin", "faas"), "fn", "list"], {
        cwd: repoRoot,
        env: {
          ...process.env,
          FAAS_ENDPOINT: runner.endpoint,
          FAAS_API_KEY: runner.apiKey,
          FAAS_TLS_FINGERPRINT: other.fingerprint256,
        },
      }).then(
        () => undefined,
        (e: unknown) => e as { code: number; stderr: string },
      );
      expect(cli?.code).to.not.equal(0);
      expect(cli?.stderr).to.include("not the pinned one");
      // Without a pin, Node's own verification refuses the self-signed certificate; plain HTTP gets nothing.
      const unpinned = await fetch(`${runner.endpoint}/healthz`).then(
        (r) => r.status,
        (e: unknown) => String((e as { cause?: unknown }).cause ?? e),
      );
      expect(String(unpinned)).to.match(/self-signed|SELF_SIGNED/i);
      const plain = await fetch(runner.endpoint.replace("https:", "http:") + "/healthz").then(
        (r) => r.status,
        (e: unknown) => String(e),
      );
      expect(plain).to.not.equal(200);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("pins the same certificate after a second make deploy: read back from SSM, not made again", async () => {
    const before = state()!;
    const { stdout } = await script("deploy.sh");
    const after = state()!;
    expect(stdout).to.include(`read back from SSM /${NAME}/tls-cert`);
    expect(after.tlsFingerprint).to.equal(before.tlsFingerprint);
    expect(after.pid).to.not.equal(before.pid);
    const client = new PlatformClient(after.endpoint, after.apiKey, {
      tlsFingerprint: before.tlsFingerprint!,
    });
    expect((await client.invoke("hello", { name: "again" })).body).to.deep.equal({
      message: "Hello, again!",
    });
  });

  it("destroys: no process of the deployment, no resource of its name", async () => {
    const runner = state()!;
    const before = processesLabelled(runner.envId);
    expect(before.length).to.be.greaterThan(0);
    const { stdout, seconds } = await script("destroy.sh");
    console.log(
      `      destroy.sh (TARGET=local) took ${seconds.toFixed(1)} s (${/removed from local in (\d+) s/.exec(stdout)?.[1]} s of terraform destroy)`,
    );
    expect(pidAlive(runner.pid)).to.equal(false);
    expect(processesLabelled(runner.envId)).to.deep.equal([]);
    for (const pid of before) expect(pidAlive(pid), `pid ${pid}`).to.equal(false);
    expect(state()).to.equal(undefined);

    const config = clientConfig();
    const ec2 = new EC2Client(config);
    const sqs = new SQSClient(config);
    const dynamo = new DynamoDBClient(config);
    const logs = new CloudWatchLogsClient(config);
    try {
      for (const suffix of ["controller", "workers"])
        expect(await describeGroup(aws(), `${NAME}-${suffix}`), `${NAME}-${suffix}`).to.equal(undefined);
      const live = await ec2.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: "tag:Project", Values: [NAME] },
            { Name: "instance-state-name", Values: ["pending", "running", "stopping", "stopped"] },
          ],
        }),
      );
      expect((live.Reservations ?? []).flatMap((r) => r.Instances ?? [])).to.have.length(0);
      const vpcs = await ec2.send(
        new DescribeVpcsCommand({ Filters: [{ Name: "tag:Project", Values: [NAME] }] }),
      );
      expect(vpcs.Vpcs ?? []).to.have.length(0);
      const addresses = await ec2.send(
        new DescribeAddressesCommand({ Filters: [{ Name: "tag:Name", Values: [`${NAME}-controller`] }] }),
      );
      expect(addresses.Addresses ?? []).to.have.length(0);
      // SQS: the deployment's queues are in moto (the environment's are in its queue service).
      const queues = await new SQSClient({ ...config }).send(
        new ListQueuesCommand({ QueueNamePrefix: NAME }),
      );
      expect(queues.QueueUrls ?? []).to.have.length(0);
      const tables = await dynamo.send(new ListTablesCommand({}));
      expect((tables.TableNames ?? []).filter((t) => t.startsWith(NAME))).to.deep.equal([]);
      const groups = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: `/${NAME}/` }));
      expect(groups.logGroups ?? []).to.have.length(0);
      const params = await aws().ssm.send(
        new GetParametersByPathCommand({ Path: `/${NAME}`, Recursive: true }),
      );
      expect(params.Parameters ?? []).to.have.length(0);
      const cache = await cacheRecords(aws(), NAME);
      // moto never finishes deleting a replication group or a cluster (deleted, they stay listed as
      // "deleting") and cannot delete a cache subnet group (DeleteCacheSubnetGroup answers 500).
      for (const r of [...cache.replicationGroups, ...cache.clusters])
        expect(r.status, r.id).to.equal("deleting");
      expect(cache.subnetGroups).to.deep.equal([`${NAME}-redis`]);
      // What `make dev` made under faas-* is untouched, and it still serves.
      const envTables = await dynamo.send(new ListTablesCommand({}));
      expect(envTables.TableNames).to.include("faas-functions");
      expect((await waitForWorkers(env!.endpoint, env!.options.apiKey, 1, 10_000)).ready).to.equal(true);
    } finally {
      for (const c of [ec2, sqs, dynamo, logs]) c.destroy();
    }
  });
});
