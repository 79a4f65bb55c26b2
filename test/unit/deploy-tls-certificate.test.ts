/**
 * deploy/tls/api-certificate.ts: the deployment's self-signed certificate is read back from SSM when a
 * deploy made it before (so every checkout pins the same one), made only when neither parameter exists,
 * and refused when the parameters are half a pair, not PEM, or not a pair. A store in memory; openssl
 * makes the certificates (emulator/tls.ts).
 */
import { expect } from "chai";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  apiCertificate,
  ApiCertificateError,
  PemPair,
  TlsParameterStore,
  tlsParameterNames,
} from "../../deploy/tls/api-certificate";
import { selfSignedCertificate } from "../../emulator/tls";

describe("deploy: the API's self-signed certificate (deploy/tls/api-certificate.ts)", function () {
  this.timeout(20_000);
  let dir = "";
  let one: PemPair;
  let other: PemPair;
  const pair = async (sub: string, names: Parameters<typeof selfSignedCertificate>[1]) => {
    const made = await selfSignedCertificate(mkdtempSync(path.join(dir, sub)), names);
    return { cert: readFileSync(made.certFile, "utf8"), key: readFileSync(made.keyFile, "utf8") };
  };
  const store = (params: Record<string, string>): TlsParameterStore & { reads: string[] } => {
    const reads: string[] = [];
    return {
      reads,
      get: (name) => {
        reads.push(name);
        return Promise.resolve(params[name]);
      },
    };
  };
  const refused = (p: Promise<unknown>) =>
    p.then(
      () => expect.fail("accepted"),
      (err: unknown) => err as ApiCertificateError,
    );

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "faas-tls-unit-"));
    one = await pair("one-", { ips: ["127.0.0.1"] });
    // What a first `make deploy` to AWS makes: no Elastic IP yet, so no name at all.
    other = await pair("other-", { allowNoNames: true });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("names the parameters after the deployment", () => {
    expect(tlsParameterNames("faas-prod")).to.deep.equal({
      cert: "/faas-prod/tls-cert",
      key: "/faas-prod/tls-key",
    });
  });

  it("makes one only when neither parameter exists, and gives its SHA-256 as clients pin it", async () => {
    let made = 0;
    const certificate = await apiCertificate(store({}), "faas", () => {
      made++;
      return Promise.resolve(other);
    });
    expect(made).to.equal(1);
    expect(certificate.source).to.equal("new");
    expect(certificate.fingerprint256).to.equal(new X509Certificate(other.cert).fingerprint256);
    expect(certificate.fingerprint256).to.match(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(new X509Certificate(other.cert).subjectAltName).to.equal(undefined);
  });

  it("reads back the pair already in SSM, so every checkout pins the same certificate", async () => {
    const names = tlsParameterNames("faas");
    const s = store({ [names.cert]: one.cert, [names.key]: one.key });
    const certificate = await apiCertificate(s, "faas", () => expect.fail("made a new one"));
    expect(certificate).to.deep.include({ source: "ssm", cert: one.cert, key: one.key });
    expect(certificate.fingerprint256).to.equal(new X509Certificate(one.cert).fingerprint256);
    expect(s.reads).to.have.members([names.cert, names.key]);
  });

  it("refuses half a pair, saying how to fix it, rather than making a certificate nobody pinned", async () => {
    const names = tlsParameterNames("faas");
    const err = await refused(
      apiCertificate(store({ [names.key]: one.key }), "faas", () => Promise.resolve(other)),
    );
    expect(err).to.be.instanceOf(ApiCertificateError);
    expect(err.code).to.equal("half-pair");
    expect(err.message).to.contain("/faas/tls-key exists but /faas/tls-cert does not");
    expect(err.message).to.contain("aws ssm delete-parameter --name /faas/tls-key");
  });

  it("refuses a key that is not the certificate's, and values that are not PEM", async () => {
    const names = tlsParameterNames("faas");
    const never = () => expect.fail("made a new one");
    const mismatch = await refused(
      apiCertificate(store({ [names.cert]: one.cert, [names.key]: other.key }), "faas", never),
    );
    expect(mismatch.code).to.equal("key-mismatch");
    expect(mismatch.message).to.contain(
      "/faas/tls-key is not the private key of the certificate in /faas/tls-cert",
    );
    for (const [cert, key, blamed] of [
      ["None", one.key, names.cert],
      ["", one.key, names.cert],
      [one.key, one.key, names.cert],
      [one.cert, one.cert, names.key],
      [one.cert, "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n", names.key],
    ] as const) {
      const err = await refused(
        apiCertificate(store({ [names.cert]: cert, [names.key]: key }), "faas", never),
      );
      expect(err.code, blamed).to.equal("bad-parameter");
      expect(err.message).to.contain(`${blamed} is not a PEM`);
    }
  });
});
