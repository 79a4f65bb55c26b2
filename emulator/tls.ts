/**
 * A self-signed certificate for the public API when it has no domain name (docs/configuration.md,
 * deploy/README.md "TLS"): made with the openssl command line (an EC P-256 key, 825 days, the
 * addresses it will be reached at as subject alternative names), and named by its SHA-256
 * fingerprint, which clients pin (client/pinned-tls.ts).
 */
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { chmodSync, readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface SelfSignedCertificate {
  certFile: string;
  keyFile: string;
  /** "AB:CD:…", as Node and openssl print it. */
  fingerprint256: string;
}

/**
 * Writes cert.pem and key.pem (mode 600) into `dir`, for the given IP addresses and DNS names. With
 * `allowNoNames`, a certificate with none (only a pinning client can check it: `make deploy` before
 * the Elastic IP exists).
 */
export async function selfSignedCertificate(
  dir: string,
  names: { ips?: string[]; dns?: string[]; allowNoNames?: boolean },
): Promise<SelfSignedCertificate> {
  const certFile = path.join(dir, "cert.pem");
  const keyFile = path.join(dir, "key.pem");
  const san = [...(names.ips ?? []).map((ip) => `IP:${ip}`), ...(names.dns ?? []).map((d) => `DNS:${d}`)];
  if (san.length === 0 && names.allowNoNames !== true)
    throw new Error("a certificate needs at least one address or name");
  // prettier-ignore
  await run("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", keyFile, "-out", certFile, "-days", "825", "-subj", "/CN=faas-api",
    ...(san.length === 0 ? [] : ["-addext", `subjectAltName=${san.join(",")}`]),
  ]).catch((err: unknown) => {
    throw new Error(`openssl could not make the API's certificate: ${String(err)}`, { cause: err });
  });
  chmodSync(keyFile, 0o600);
  return { certFile, keyFile, fingerprint256: new X509Certificate(readFileSync(certFile)).fingerprint256 };
}
