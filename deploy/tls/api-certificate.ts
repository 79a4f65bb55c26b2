/**
 * The public API's self-signed certificate of a deployment (tls_mode = self-signed; deploy/README.md
 * "TLS"), for deploy.sh. Made once: the certificate and key already in SSM Parameter Store under the
 * deployment's name (/<name>/tls-cert, /<name>/tls-key, SecureString) are read back, so every checkout
 * and CI run deploys, and every client pins, the same certificate. Only when neither exists is a new
 * one made (openssl, EC P-256: emulator/tls.ts), which Terraform then stores through write-only
 * arguments (never in its state or plan). A pair read back is checked (a certificate, a private key,
 * and the key of that certificate); half a pair is an error that says how to fix it, never silently
 * replaced, because clients pin the certificate that is there.
 *
 *   node dist/deploy/tls/api-certificate.js --name <name> --region <region> --out <dir>
 *        [--endpoint <url>] [--ip <address>]... [--dns <name>]... [--address-tag <Name tag>]
 *
 * writes <dir>/cert.pem and <dir>/key.pem (mode 600; deploy.sh makes <dir> private and removes it on
 * exit) and prints one line, "ssm <fingerprint>" or "new <fingerprint>", the SHA-256 as "AB:CD:…".
 * --endpoint: the local cloud (test credentials); otherwise AWS with the usual credential chain.
 * --address-tag: the Elastic IP tagged Name=<tag>, when it exists already, is one of a new
 * certificate's names. A first deploy makes the certificate before the address exists: then it names
 * nothing, which a pinning client does not check (client/pinned-tls.ts).
 */
import { DescribeAddressesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { selfSignedCertificate } from "../../emulator/tls";

export type ApiCertificateErrorCode =
  /** One of the two parameters exists without the other. */
  | "half-pair"
  /** A parameter holds something that is not what its name says. */
  | "bad-parameter"
  /** The key is not the certificate's. */
  | "key-mismatch";

export class ApiCertificateError extends Error {
  constructor(
    readonly code: ApiCertificateErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "ApiCertificateError";
  }
}

export interface PemPair {
  cert: string;
  key: string;
}

export interface ApiCertificate extends PemPair {
  /** "AB:CD:…", as Node and openssl print it, and as clients pin it. */
  fingerprint256: string;
  /** Read back from SSM, or made by this deploy. */
  source: "ssm" | "new";
}

/** Where the parameters live: a decrypted value, or undefined when the parameter does not exist. */
export interface TlsParameterStore {
  get(name: string): Promise<string | undefined>;
}

/** The SSM parameters of a deployment's certificate (deploy/terraform/tls.tf names them the same). */
export function tlsParameterNames(name: string): { cert: string; key: string } {
  return { cert: `/${name}/tls-cert`, key: `/${name}/tls-key` };
}

/** The certificate's SHA-256 when `pair` is a PEM certificate and its own private key; else an error naming `where`. */
export function checkPair(pair: PemPair, where: { cert: string; key: string }): string {
  let certificate: X509Certificate;
  try {
    if (!pair.cert.trimStart().startsWith("-----BEGIN CERTIFICATE-----")) throw new Error("no PEM header");
    certificate = new X509Certificate(pair.cert);
  } catch (err) {
    throw new ApiCertificateError("bad-parameter", `${where.cert} is not a PEM certificate (${String(err)})`);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pair.key)) throw new Error("no PEM header");
    key = createPrivateKey(pair.key);
  } catch (err) {
    throw new ApiCertificateError("bad-parameter", `${where.key} is not a PEM private key (${String(err)})`);
  }
  if (!certificate.checkPrivateKey(key))
    throw new ApiCertificateError(
      "key-mismatch",
      `${where.key} is not the private key of the certificate in ${where.cert}`,
    );
  return certificate.fingerprint256;
}

/** The deployment's certificate: the pair in SSM when there is one, else `make()`'s (see the header). */
export async function apiCertificate(
  store: TlsParameterStore,
  name: string,
  make: () => Promise<PemPair>,
): Promise<ApiCertificate> {
  const names = tlsParameterNames(name);
  const [cert, key] = await Promise.all([store.get(names.cert), store.get(names.key)]);
  if (cert !== undefined && key !== undefined)
    return { cert, key, fingerprint256: checkPair({ cert, key }, names), source: "ssm" };
  if (cert !== undefined || key !== undefined) {
    const [has, lacks] = cert !== undefined ? [names.cert, names.key] : [names.key, names.cert];
    throw new ApiCertificateError(
      "half-pair",
      `${has} exists but ${lacks} does not: delete ${has} too (aws ssm delete-parameter --name ${has}) and deploy again for a new certificate, which clients must then pin`,
    );
  }
  const made = await make();
  return {
    ...made,
    fingerprint256: checkPair(made, { cert: "the new certificate", key: "its key" }),
    source: "new",
  };
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      name: { type: "string" },
      region: { type: "string" },
      out: { type: "string" },
      endpoint: { type: "string" },
      ip: { type: "string", multiple: true, default: [] },
      dns: { type: "string", multiple: true, default: [] },
      "address-tag": { type: "string" },
    },
  });
  const { name, region, out, endpoint } = values;
  if (name === undefined || region === undefined || out === undefined)
    throw new Error(
      "usage: api-certificate.js --name <name> --region <region> --out <dir> [--endpoint <url>] [--ip A]... [--dns D]... [--address-tag T]",
    );
  const config = {
    region,
    ...(endpoint === undefined
      ? {}
      : { endpoint, credentials: { accessKeyId: "test", secretAccessKey: "test" } }),
  };
  const ssm = new SSMClient(config);
  const ec2 = new EC2Client(config);
  try {
    const store: TlsParameterStore = {
      get: async (parameter) => {
        try {
          const answer = await ssm.send(new GetParameterCommand({ Name: parameter, WithDecryption: true }));
          return answer.Parameter?.Value ?? "";
        } catch (err) {
          if ((err as { name?: string }).name === "ParameterNotFound") return undefined;
          throw new Error(`cannot read ${parameter} from SSM: ${String(err)}`, { cause: err });
        }
      },
    };
    const certificate = await apiCertificate(store, name, async () => {
      const ips = [...values.ip];
      const tag = values["address-tag"];
      if (tag !== undefined) {
        const address = await ec2
          .send(new DescribeAddressesCommand({ Filters: [{ Name: "tag:Name", Values: [tag] }] }))
          .then((answer) => answer.Addresses?.[0]?.PublicIp)
          .catch((err: unknown) => {
            process.stderr.write(
              `deploy: the Elastic IP tagged Name=${tag} could not be looked up (${String(err)}); the certificate names no address\n`,
            );
            return undefined;
          });
        if (address !== undefined) ips.push(address);
      }
      const made = await selfSignedCertificate(out, { ips, dns: values.dns, allowNoNames: true });
      return { cert: readFileSync(made.certFile, "utf8"), key: readFileSync(made.keyFile, "utf8") };
    });
    for (const [file, content] of [
      ["cert.pem", certificate.cert],
      ["key.pem", certificate.key],
    ] as const) {
      const target = path.join(out, file);
      writeFileSync(target, content.endsWith("\n") ? content : `${content}\n`, { mode: 0o600 });
      chmodSync(target, 0o600);
    }
    process.stdout.write(`${certificate.source} ${certificate.fingerprint256}\n`);
  } finally {
    ssm.destroy();
    ec2.destroy();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(
      `deploy: the API's certificate: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exit(1);
  });
}
