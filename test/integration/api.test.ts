import { expect } from "chai";
import { FUNCTIONS } from "../fixtures/functions";
import { startTestEnvironment, TestEnvironment } from "../fixtures/environment";

describe("controller API through the Elastic IP edge", function () {
  this.timeout(60_000);
  let t: TestEnvironment;

  before(async () => {
    t = await startTestEnvironment();
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

      const described = await t.api.call("GET", "/api/functions/crud");
      expect(described.body).to.include({ name: "crud", version: 2 });
      const list = await t.api.call("GET", "/api/functions");
      expect((list.body as { functions: { name: string }[] }).functions.map((f) => f.name)).to.include(
        "crud",
      );

      expect((await t.api.call("DELETE", "/api/functions/crud")).status).to.equal(204);
      expect((await t.api.call("GET", "/api/functions/crud")).status).to.equal(404);
      expect((await t.api.call("DELETE", "/api/functions/crud")).status).to.equal(404);
      expect((await t.api.invoke("crud")).status, "a removed function is not invocable").to.equal(404);
    });

    it("stores code in S3 under its content hash and metadata in DynamoDB", async () => {
      const { HeadObjectCommand } = await import("@aws-sdk/client-s3");
      const deployed = (await t.api.deploy("hashed", FUNCTIONS.echo)).body as {
        codeKey: string;
        codeSha256: string;
      };
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
  });

  describe("invocations", () => {
    before(async () => {
      expect((await t.api.deploy("echo", FUNCTIONS.echo)).status).to.be.oneOf([200, 201]);
      expect((await t.api.deploy("logs", FUNCTIONS.logs)).status).to.be.oneOf([200, 201]);
      expect((await t.api.deploy("pid", FUNCTIONS.pid)).status).to.be.oneOf([200, 201]);
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
      const { invocationId } = res.body as { invocationId: string };
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

    it("reuses a warm process for the next invocation of the same version", async () => {
      const pids = new Map<string, number[]>();
      const cold: string[] = [];
      for (let i = 0; i < 8; i++) {
        const res = await t.api.invoke("pid");
        const worker = res.headers.get("x-worker-id") ?? "";
        pids.set(worker, [...(pids.get(worker) ?? []), (res.body as { pid: number }).pid]);
        cold.push(res.headers.get("x-cold-start") ?? "");
      }
      expect(cold.filter((c) => c === "false").length, "some invocations were warm").to.be.greaterThan(0);
      for (const list of pids.values())
        expect(new Set(list).size, "one process per worker served them").to.be.lessThan(list.length + 1);
      const workers = await t.api.workers();
      expect(workers.workers.length).to.equal(2);
    });
  });

  describe("errors", () => {
    it("401 without the API key or with a wrong one", async () => {
      const none = await fetch(`${t.env.endpoint}/api/functions`);
      expect(none.status).to.equal(401);
      expect(((await none.json()) as { error: { code: string } }).error.code).to.equal("Unauthorized");
      const wrong = await fetch(`${t.env.endpoint}/api/functions`, {
        headers: { authorization: "Bearer nope" },
      });
      expect(wrong.status).to.equal(401);
      const inv = await fetch(`${t.env.endpoint}/api/invocations/00000000-0000-4000-8000-000000000000`);
      expect(inv.status).to.equal(401);
    });

    it("401 for a heartbeat without the worker secret, even with the API key", async () => {
      const res = await t.api.call("POST", "/api/worker/heartbeat", {
        workerId: "w",
        instanceId: "i",
        slotsTotal: 1,
        slotsInUse: 0,
        coldStarts: 0,
        warmStarts: 0,
        startedAt: 0,
      });
      expect(res.status).to.equal(401);
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
    it("serves liveness and Prometheus metrics", async () => {
      const health = await fetch(`${t.env.endpoint}/healthz`);
      expect(await health.json()).to.deep.include({ status: "ok" });
      const metrics = await (await fetch(`${t.env.endpoint}/metrics`)).text();
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
