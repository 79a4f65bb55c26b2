/**
 * The public API over HTTPS with a self-signed certificate (issue 12, deploy/README.md "TLS"): the
 * edge carries TLS through untouched, the client and the CLI pin the certificate's fingerprint, and
 * nothing is served in plain text on the public port; the workers' heartbeat stays on the private
 * listener.
 */
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { promisify } from "node:util";
import { expect } from "chai";
import { PlatformClient } from "../../client/platform-client";
import { CertificateMismatchError, normalizeFingerprint } from "../../client/pinned-tls";
import { selfSignedCertificate } from "../../emulator/tls";
import { startTestEnvironment, TestEnvironment } from "../fixtures/environment";

const run = promisify(execFile);

describe("the public API over HTTPS, its certificate pinned", function () {
  this.timeout(60_000);
  let t: TestEnvironment;
  let fingerprint: string;

  before(async () => {
    t = await startTestEnvironment({ tls: true, workers: 1 });
    fingerprint = t.env.tlsFingerprint ?? "";
  });
  after(async () => {
    await t.env.stop();
  });

  it("serves through the edge to a client that pins the certificate: deploy and invoke", async () => {
    expect(t.env.endpoint).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(normalizeFingerprint(fingerprint)).to.have.length(64);
    const client = new PlatformClient(t.env.endpoint, t.apiKey, { tlsFingerprint: fingerprint });
    await client.deploy("tls-echo", { source: `exports.handler = async (e) => ({ got: e.n });` });
    expect((await client.invoke("tls-echo", { n: 5 })).body).to.deep.equal({ got: 5 });
    // The workers registered through the private listener: the heartbeat needs no certificate.
    expect((await client.workers()).workers).to.have.length(1);
  });

  it("presents, through the edge, exactly the certificate whose fingerprint was printed", async () => {
    const port = Number(new URL(t.env.endpoint).port);
    const presented = await new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.end();
      });
      socket.once("error", reject);
    });
    expect(presented).to.equal(fingerprint);
  });

  it("refuses a server with another certificate, at once and without retrying or sending the key", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "faas-tls-test-"));
    try {
      const other = await selfSignedCertificate(dir, { ips: ["127.0.0.1"] });
      expect(other.fingerprint256).to.not.equal(fingerprint);
      const client = new PlatformClient(t.env.endpoint, t.apiKey, { tlsFingerprint: other.fingerprint256 });
      const started = Date.now();
      const err = await client.listFunctions().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(CertificateMismatchError);
      expect((err as Error).message).to.include(fingerprint);
      expect(client.stats.retries, "a wrong server is not retried").to.equal(0);
      expect(Date.now() - started).to.be.below(2000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("answers nothing in plain text on the public port, and rejects a client that does not pin (self-signed)", async () => {
    const plain = await fetch(`http://127.0.0.1:${new URL(t.env.endpoint).port}/healthz`).then(
      (r) => r.status,
      (e: unknown) => String(e),
    );
    expect(plain).to.not.equal(200);
    const unpinned = new PlatformClient(t.env.endpoint, t.apiKey, { retry: false });
    const err = await unpinned.listFunctions().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(String(err?.message)).to.match(/self-signed|certificate/i);
  });

  it("the CLI pins the fingerprint from FAAS_TLS_FINGERPRINT, and refuses the wrong one", async () => {
    const cli = path.resolve(__dirname, "../../cli/main.js");
    const env = {
      ...process.env,
      FAAS_HOME: mkdtempSync(path.join(os.tmpdir(), "faas-tls-cli-")),
      FAAS_ENDPOINT: t.env.endpoint,
      FAAS_API_KEY: t.apiKey,
    };
    try {
      const ok = await run(process.execPath, [cli, "fn", "list"], {
        env: { ...env, FAAS_TLS_FINGERPRINT: fingerprint },
      });
      expect(ok.stdout).to.include("tls-echo");
      const wrong = "00".repeat(32);
      const refused = await run(process.execPath, [cli, "fn", "list"], {
        env: { ...env, FAAS_TLS_FINGERPRINT: wrong },
      }).then(
        () => "",
        (e: unknown) => String((e as { stderr?: string }).stderr),
      );
      expect(refused).to.match(/not the pinned one/);
    } finally {
      rmSync(env.FAAS_HOME, { recursive: true, force: true });
    }
  });

  it("makes certificates for the addresses given, with a key only its owner reads", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "faas-tls-test-"));
    try {
      const cert = await selfSignedCertificate(dir, { ips: ["127.0.0.1"], dns: ["api.example.test"] });
      const { readFileSync, statSync } = await import("node:fs");
      const x509 = new X509Certificate(readFileSync(cert.certFile));
      expect(x509.subjectAltName).to.include("IP Address:127.0.0.1").and.include("DNS:api.example.test");
      expect(statSync(cert.keyFile).mode & 0o777).to.equal(0o600);
      await selfSignedCertificate(dir, {}).then(
        () => expect.fail("no names"),
        (e: unknown) => expect(String(e)).to.match(/at least one/),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
