import { randomUUID } from "node:crypto";
import { GetQueueAttributesCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import AdmZip from "adm-zip";
import { expect } from "chai";
import { AsyncAccepted, ErrorBody, InvocationTask, TaskFunction } from "../../contracts";
import { waitFor } from "../../emulator/wait";
import { FUNCTIONS } from "../fixtures/functions";
import { Api, startTestEnvironment, TestEnvironment } from "../fixtures/environment";

const MAX_UNPACKED = 1024 * 1024;

function zipOf(files: Record<string, string | Buffer>): string {
  const zip = new AdmZip();
  for (const [name, content] of Object.entries(files)) {
    // addFile cleans names ("../x" becomes "x"); renaming the entry afterwards keeps the name as given,
    // as a hostile zip made by another tool would.
    zip.addFile("placeholder", Buffer.from(content));
    const entry = zip.getEntry("placeholder");
    if (entry === null) throw new Error("adm-zip lost an entry");
    entry.entryName = name;
  }
  return zip.toBuffer().toString("base64");
}

describe("controller API through the Elastic IP edge", function () {
  this.timeout(60_000);
  let t: TestEnvironment;

  before(async () => {
    t = await startTestEnvironment({
      controllerEnv: { FAAS_MAX_UNPACKED_CODE_BYTES: String(MAX_UNPACKED) },
    });
  });
  after(async () => {
    await t.env.stop();
  });

  describe("functions", () => {
    it("deploys, describes, lists, updates and removes a function", async () => {
      const created = await t.api.deploy("crud", FUNCTIONS.echo, { timeoutMs: 2000 });
      expect(created.status).to.equal(201);
      expect(created.body).to.include({
        name: "crud",
        version: 1,
        handler: "index.handler",
        timeoutMs: 2000,
        codeFormat: "source",
      });

      const same = await t.api.deploy("crud", FUNCTIONS.echo, { timeoutMs: 2000 });
      expect(same.status, "an identical deploy changes nothing").to.equal(200);
      expect(same.body).to.include({ version: 1 });

      const updated = await t.api.deploy("crud", FUNCTIONS.pid, { timeoutMs: 2000 });
      expect(updated.status).to.equal(200);
      expect(updated.body).to.include({ version: 2 });

      expect(await t.api.client.getFunction("crud")).to.include({ name: "crud", version: 2 });
      const list = await t.api.client.listFunctions();
      expect(list.functions.map((f) => f.name)).to.include("crud");

      expect((await t.api.call("DELETE", "/api/functions/crud")).status).to.equal(204);
      expect((await t.api.call("GET", "/api/functions/crud")).status).to.equal(404);
      expect((await t.api.call("DELETE", "/api/functions/crud")).status).to.equal(404);
      expect((await t.api.invoke("crud")).status, "a removed function is not invocable").to.equal(404);
    });

    it("stores code in S3 under its content hash and metadata in DynamoDB", async () => {
      const { HeadObjectCommand } = await import("@aws-sdk/client-s3");
      const deployed = await t.api.client.deploy("hashed", { source: FUNCTIONS.echo });
      expect(deployed.codeKey).to.equal(`code/${deployed.codeSha256}.js`);
      const s3 = t.env.clients.s3;
      const head = await s3.send(
        new HeadObjectCommand({ Bucket: t.env.resources.bucket, Key: deployed.codeKey }),
      );
      expect(head.ContentLength).to.be.greaterThan(0);
      const { GetItemCommand } = await import("@aws-sdk/client-dynamodb");
      const item = await t.env.clients.dynamo.send(
        new GetItemCommand({ TableName: t.env.resources.table, Key: { name: { S: "hashed" } } }),
      );
      expect(item.Item?.codeSha256?.S).to.equal(deployed.codeSha256);
    });

    it("deploys a zip with several files", async () => {
      const AdmZip = (await import("adm-zip")).default;
      const zip = new AdmZip();
      zip.addFile("lib/greet.js", Buffer.from(`module.exports = (n) => "hi " + n;`));
      zip.addFile(
        "main.js",
        Buffer.from(`const greet = require("./lib/greet"); exports.run = async (e) => greet(e.who);`),
      );
      const res = await t.api.call("PUT", "/api/functions/zipped", {
        zip: zip.toBuffer().toString("base64"),
        handler: "main.run",
      });
      expect(res.status, res.text).to.equal(201);
      const out = await t.api.invoke("zipped", { who: "zip" });
      expect(out.status, out.text).to.equal(200);
      expect(out.body).to.equal("hi zip");
    });

    it("400 for handlers that are not module paths inside the code", async () => {
      for (const handler of ["/etc/passwd.x", "../../x.handler", "a/../b.handler"]) {
        const res = await t.api.deploy("badhandler", FUNCTIONS.echo, { handler });
        expect(res.status, `${handler}: ${res.text}`).to.equal(400);
        expect(res.text).to.include("handler");
      }
    });

    it("400 for env vars over 4 KB or with a reserved name", async () => {
      const big = await t.api.deploy("bigenv", FUNCTIONS.echo, { env: { BLOB: "x".repeat(300 * 1024) } });
      expect(big.status, big.text).to.equal(400);
      expect(big.text).to.include("4096 bytes");
      const reserved = await t.api.deploy("reservedenv", FUNCTIONS.echo, { env: { FAAS_X: "1" } });
      expect(reserved.status, reserved.text).to.equal(400);
      expect(reserved.text).to.include("reserved");
      expect((await t.api.call("GET", "/api/functions/bigenv")).status).to.equal(404);
    });

    it("400 for a zip with unsafe entry names, too many entries, too many bytes or no handler module", async () => {
      const handler = "index.js";
      const cases: [string, Record<string, string | Buffer>, string][] = [
        ["absolute", { [handler]: "", "/etc/x.js": "" }, "absolute path"],
        ["dot-dot", { [handler]: "", "lib/../../x.js": "" }, "'..' segment"],
        ["backslash", { [handler]: "", "lib\\x.js": "" }, "backslash"],
        ["big", { [handler]: Buffer.alloc(MAX_UNPACKED + 1, 0x61) }, "unpacks to"],
        ["nomodule", { "main.js": "" }, "'index.js' or 'index/index.js'"],
      ];
      for (const [what, files, reason] of cases) {
        const res = await t.api.call("PUT", "/api/functions/badzip", { zip: zipOf(files) });
        expect(res.status, `${what}: ${res.text}`).to.equal(400);
        expect(res.text, what).to.include(reason);
      }
      const many = new AdmZip();
      many.addFile("index.js", Buffer.from("exports.handler = async () => 1;"));
      for (let i = 0; i < 10_000; i++) many.addFile(`f/${i}`, Buffer.alloc(0));
      const tooMany = await t.api.call("PUT", "/api/functions/badzip", {
        zip: many.toBuffer().toString("base64"),
      });
      expect(tooMany.status, tooMany.text).to.equal(400);
      expect(tooMany.text).to.include("10001 entries");
      expect((await t.api.call("GET", "/api/functions/badzip")).status, "nothing was stored").to.equal(404);

      const nested = await t.api.call("PUT", "/api/functions/nested", {
        zip: zipOf({ "lib/index.js": "exports.run = async () => 'nested';" }),
        handler: "lib.run",
      });
      expect(nested.status, nested.text).to.equal(201);
      expect((await t.api.invoke("nested")).body).to.equal("nested");
    });
  });

  describe("per-function concurrency (maxConcurrency)", () => {
    it("429 with Retry-After while the limit is in use, enqueuing nothing; invocable again after", async () => {
      const deployed = await t.api.deploy("slow", FUNCTIONS.sleeps, { timeoutMs: 10_000, maxConcurrency: 1 });
      expect(deployed.status, deployed.text).to.equal(201);
      expect(deployed.body).to.include({ maxConcurrency: 1 });

      const first = await t.api.invokeAsync("slow", { ms: 1500 });
      expect(first.status).to.equal(202);
      for (const refused of [
        await t.api.invoke("slow", { ms: 1 }),
        await t.api.invokeAsync("slow", { ms: 1 }),
      ]) {
        expect(refused.status, refused.text).to.equal(429);
        expect(refused.headers.get("retry-after")).to.equal("1");
        expect(refused.body).to.have.nested.property("error.code", "TooManyRequests");
        expect(refused.text).to.include("concurrency limit of 1");
        expect(refused.headers.get("x-invocation-id"), "nothing was accepted").to.equal(null);
      }

      const firstId = AsyncAccepted.parse(first.body).invocationId;
      expect(await t.api.awaitInvocation(firstId)).to.include({ status: "succeeded" });
      // The slot frees when the controller sees the result on the results channel, a moment after the
      // result is readable: a refused call enqueues nothing, so asking again is harmless.
      let next = await t.api.invoke("slow", { ms: 1 });
      await waitFor(
        "the slot to free",
        async () => (next = await t.api.invoke("slow", { ms: 1 })).status !== 429,
        {
          timeoutMs: 3000,
        },
      );
      expect(next.status, next.text).to.equal(200);
      expect(next.body).to.deep.equal({ slept: 1 });
    });
  });

  describe("dead-letter queue", () => {
    it("records a dead-lettered task as failed and deletes what is not a task", async () => {
      const deployed = await t.api.deploy("deadletter", FUNCTIONS.echo);
      expect(deployed.status, deployed.text).to.equal(201);
      const task: InvocationTask = {
        invocationId: randomUUID(),
        function: TaskFunction.parse(deployed.body),
        sealedEnv: "",
        event: {},
        mode: "async",
        enqueuedAt: Date.now(),
      };
      const dlqUrl = t.env.resources.dlqUrl;
      await t.env.clients.sqs.send(
        new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: JSON.stringify(task) }),
      );
      await t.env.clients.sqs.send(
        new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: "poison-body-7f3a" }),
      );

      const view = await t.api.awaitInvocation(task.invocationId);
      expect(view).to.include({ status: "failed", workerId: "dlq" });
      expect(view.error).to.deep.include({ type: "DeadLettered" });
      expect(view.error?.message).to.include("without a result");

      await waitFor(
        "both dead letters counted",
        async () => {
          const metrics = (await t.api.call("GET", "/metrics")).text;
          return (
            /faas_dead_letters_total\{kind="task"\} 1/.test(metrics) &&
            /faas_dead_letters_total\{kind="malformed"\} 1/.test(metrics)
          );
        },
        { timeoutMs: 10_000 },
      );
      const attrs = await t.env.clients.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: dlqUrl,
          AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        }),
      );
      expect(attrs.Attributes).to.deep.include({
        ApproximateNumberOfMessages: "0",
        ApproximateNumberOfMessagesNotVisible: "0",
      });
      expect(t.logs.join("\n"), "a malformed body is never logged").not.to.include("poison-body-7f3a");
    });
  });

  describe("invocations", () => {
    before(async () => {
      expect((await t.api.deploy("echo", FUNCTIONS.echo)).status).to.be.oneOf([200, 201]);
      expect((await t.api.deploy("logs", FUNCTIONS.logs)).status).to.be.oneOf([200, 201]);
    });

    it("answers a synchronous invocation with the function's value and the invocation headers", async () => {
      const res = await t.api.invoke("echo", { name: "Ada" });
      expect(res.status, res.text).to.equal(200);
      expect(res.body).to.deep.equal({ event: { name: "Ada" }, name: "echo" });
      expect(res.headers.get("x-invocation-id")).to.match(/^[0-9a-f-]{36}$/);
      expect(res.headers.get("x-worker-id")).to.be.a("string").and.not.empty;
      expect(Number(res.headers.get("x-duration-ms"))).to.be.greaterThan(0);
    });

    it("treats an empty body as the event {} and accepts any JSON value", async () => {
      const empty = await t.api.call("POST", "/api/functions/echo/invoke", undefined, {}, "");
      expect(empty.body).to.deep.equal({ event: {}, name: "echo" });
      const number = await t.api.call("POST", "/api/functions/echo/invoke", undefined, {}, "42");
      expect(number.body).to.deep.equal({ event: 42, name: "echo" });
    });

    it("accepts an asynchronous invocation with 202 and a Location, then stores its result", async () => {
      const res = await t.api.invokeAsync("echo", { n: 1 });
      expect(res.status).to.equal(202);
      const { invocationId } = AsyncAccepted.parse(res.body);
      expect(res.headers.get("location")).to.equal(`/api/invocations/${invocationId}`);
      const view = await t.api.awaitInvocation(invocationId);
      expect(view).to.include({ id: invocationId, function: "echo", status: "succeeded", attempts: 1 });
      expect(view.result).to.deep.equal({ event: { n: 1 }, name: "echo" });
      expect(view.workerId).to.be.a("string");
    });

    it("also takes ?async=true", async () => {
      const res = await t.api.call("POST", "/api/functions/echo/invoke?async=true", { n: 2 });
      expect(res.status).to.equal(202);
    });

    it("records the function's stdout and stderr with the invocation", async () => {
      const res = await t.api.invoke("logs");
      const view = await t.api.awaitInvocation(res.headers.get("x-invocation-id") ?? "");
      expect(view.logs).to.include("hello from the function").and.include("and from stderr");
    });

    it("reuses a warm runtime for the next invocation of the same version, on the worker that ran it", async () => {
      // Each runtime draws an id when it loads the module and counts the invocations it serves: pids
      // cannot tell runtimes apart (node is pid 2 in every sandbox's pid namespace).
      const source = `const runtime = Math.random().toString(36).slice(2);
        let served = 0;
        exports.handler = async () => ({ runtime, served: ++served });`;
      expect((await t.api.deploy("warm", source)).status).to.equal(201);
      const workerOf = new Map<string, string>();
      let warm = 0;
      for (let i = 0; i < 8; i++) {
        const res = await t.api.invoke("warm");
        expect(res.status, res.text).to.equal(200);
        const worker = res.headers.get("x-worker-id");
        expect(worker).to.be.a("string").and.not.empty;
        const { runtime, served } = res.body as { runtime: string; served: number };
        const cold = res.headers.get("x-cold-start");
        if (cold === "true") {
          expect(workerOf.has(runtime), `call ${i}: a cold start is a runtime never seen`).to.equal(false);
          expect(served, `call ${i}: a cold runtime serves its first invocation`).to.equal(1);
        } else {
          expect(cold, `call ${i}: x-cold-start`).to.equal("false");
          warm += 1;
          expect(
            workerOf.get(runtime),
            `call ${i}: a warm start reuses a runtime of the same worker`,
          ).to.equal(worker);
          expect(served, `call ${i}: a warm runtime has served before`).to.be.greaterThan(1);
        }
        workerOf.set(runtime, worker ?? "");
      }
      expect(warm, "some invocations were warm").to.be.greaterThan(0);
      expect(new Set(workerOf.values()).size, "runtimes ran on the platform's workers only").to.be.at.most(2);
      const workers = await t.api.workers();
      expect(workers.workers.length).to.equal(2);
    });
  });

  describe("errors", () => {
    it("401 without the API key or with a wrong one", async () => {
      const none = await fetch(`${t.env.endpoint}/api/functions`);
      expect(none.status).to.equal(401);
      expect(ErrorBody.parse(await none.json()).error.code).to.equal("Unauthorized");
      const wrong = await fetch(`${t.env.endpoint}/api/functions`, {
        headers: { authorization: "Bearer nope" },
      });
      expect(wrong.status).to.equal(401);
      const inv = await fetch(`${t.env.endpoint}/api/invocations/00000000-0000-4000-8000-000000000000`);
      expect(inv.status).to.equal(401);
    });

    it("serves the heartbeat only on the private listener: 404 on the public API, 401 there without the worker secret", async () => {
      const beat = {
        workerId: "w",
        instanceId: "i",
        slotsTotal: 1,
        slotsInUse: 0,
        coldStarts: 0,
        warmStarts: 0,
        startedAt: 0,
      };
      const onPublic = await t.api.call("POST", "/api/worker/heartbeat", beat);
      expect(onPublic.status, "not on the public API, even with the API key").to.equal(404);
      const controller = t.env.live("controller")[0];
      expect(controller?.privatePort).to.be.a("number");
      const privateApi = new Api(`http://127.0.0.1:${controller?.privatePort ?? 0}`, t.apiKey);
      const noSecret = await privateApi.call("POST", "/api/worker/heartbeat", beat);
      expect(noSecret.status, "the API key is not the worker secret").to.equal(401);
      const functions = await privateApi.call("GET", "/api/functions");
      expect(functions.status, "the private listener serves nothing else").to.equal(404);
      expect((await fetch(`http://127.0.0.1:${controller?.privatePort ?? 0}/healthz`)).status).to.equal(200);
    });

    it("400 for malformed JSON, a bad schema, a bad name or source that does not parse", async () => {
      const badJson = await t.api.call("PUT", "/api/functions/x", undefined, {}, "{not json");
      expect(badJson.status).to.equal(400);
      expect(badJson.body).to.have.nested.property("error.code", "BadRequest");
      const noCode = await t.api.call("PUT", "/api/functions/x", { handler: "index.handler" });
      expect(noCode.status).to.equal(400);
      expect(noCode.text).to.include("exactly one of 'source' or 'zip'");
      const both = await t.api.call("PUT", "/api/functions/x", { source: "1", zip: "UEsDBA==" });
      expect(both.status).to.equal(400);
      const badTimeout = await t.api.deploy("x", FUNCTIONS.echo, { timeoutMs: -1 });
      expect(badTimeout.status).to.equal(400);
      expect(badTimeout.text).to.include("timeoutMs");
      const badName = await t.api.deploy("bad.name", FUNCTIONS.echo);
      expect(badName.status).to.equal(400);
      const syntax = await t.api.deploy("x", "exports.handler = async ( => {");
      expect(syntax.status).to.equal(400);
      expect(syntax.text).to.include("does not parse");
      const notZip = await t.api.call("PUT", "/api/functions/x", {
        zip: Buffer.from("plain").toString("base64"),
      });
      expect(notZip.status).to.equal(400);
      const badEvent = await t.api.call("POST", "/api/functions/echo/invoke", undefined, {}, "{oops");
      expect(badEvent.status).to.equal(400);
      const badId = await t.api.call("GET", "/api/invocations/not-a-uuid");
      expect(badId.status).to.equal(400);
    });

    it("404 for an unknown function, synchronous or asynchronous — never a 202", async () => {
      const sync = await t.api.invoke("does-not-exist");
      expect(sync.status).to.equal(404);
      expect(sync.body).to.have.nested.property("error.code", "NotFound");
      const async = await t.api.invokeAsync("does-not-exist");
      expect(async.status).to.equal(404);
      const unknownInvocation = await t.api.invocation("00000000-0000-4000-8000-000000000000");
      expect(unknownInvocation.status).to.equal(404);
      const route = await t.api.call("GET", "/api/nothing-here");
      expect(route.status).to.equal(404);
    });

    it("413 for an event larger than the limit, and the function is not run", async () => {
      const big = JSON.stringify({ blob: "x".repeat(300 * 1024) });
      const res = await t.api.call("POST", "/api/functions/echo/invoke", undefined, {}, big);
      expect(res.status).to.equal(413);
      expect(res.body).to.have.nested.property("error.code", "PayloadTooLarge");
    });
  });

  describe("observability (after the calls above)", () => {
    it("serves liveness, and Prometheus metrics to holders of the key only", async () => {
      const health = await fetch(`${t.env.endpoint}/healthz`);
      expect(await health.json()).to.deep.include({ status: "ok" });
      const anonymous = await fetch(`${t.env.endpoint}/metrics`);
      expect(anonymous.status).to.equal(401);
      expect(ErrorBody.parse(await anonymous.json()).error.code).to.equal("Unauthorized");
      const metrics = await (
        await fetch(`${t.env.endpoint}/metrics`, { headers: { authorization: `Bearer ${t.apiKey}` } })
      ).text();
      expect(metrics).to.match(/faas_invocations_total\{function="echo",outcome="succeeded"\} \d+/);
      expect(metrics).to.include("faas_invocation_duration_seconds_bucket");
      expect(metrics).to.include("faas_queue_send_seconds_count");
      expect(metrics).to.match(/faas_registered_workers 2/);
    });

    it("never logs the API key or the worker secret", () => {
      const all = t.logs.join("\n");
      expect(all).not.to.include(t.apiKey);
      expect(all).not.to.include(t.workerSecret);
    });
  });
});
