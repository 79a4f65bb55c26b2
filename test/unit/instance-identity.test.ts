/**
 * Reading the instance's identity over IMDSv2, against a scripted metadata service on 127.0.0.1 in this
 * process. Every token it issues is good for one read only (then it counts as expired), so these tests
 * show the reader takes a fresh token per request and never falls back to a request without one.
 */
import { expect } from "chai";
import http from "node:http";
import { AddressInfo } from "node:net";
import { readInstanceIdentity } from "../../services/common/instance-identity";

interface Script {
  /** Status for the n-th token request (1-based); 200 issues a token. */
  tokenStatus?: (n: number) => number;
}

async function fakeImds(script: Script = {}) {
  const live = new Set<string>();
  const seen = { tokens: 0, reads: 0, tokenless: 0, expired: 0 };
  const server = http.createServer((req, res) => {
    if (req.method === "PUT" && req.url === "/latest/api/token") {
      seen.tokens += 1;
      const status = script.tokenStatus?.(seen.tokens) ?? 200;
      if (status !== 200 || req.headers["x-aws-ec2-metadata-token-ttl-seconds"] === undefined) {
        res.writeHead(status === 200 ? 400 : status).end();
        return;
      }
      const token = `t${seen.tokens}`;
      live.add(token);
      res.writeHead(200).end(token);
      return;
    }
    const token = req.headers["x-aws-ec2-metadata-token"];
    if (typeof token !== "string") {
      seen.tokenless += 1;
      res.writeHead(401).end();
      return;
    }
    if (!live.delete(token)) {
      seen.expired += 1;
      res.writeHead(401).end();
      return;
    }
    seen.reads += 1;
    const values: Record<string, string> = {
      "/latest/meta-data/instance-id": "i-0123456789abcdef0\n",
      "/latest/meta-data/placement/availability-zone": "us-east-1a",
    };
    const value = values[req.url ?? ""];
    if (value === undefined) res.writeHead(404).end();
    else res.writeHead(200).end(value);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const fast = { initialMs: 5, maxMs: 10 };

describe("instance identity over IMDSv2", () => {
  it("reads id and zone with a fresh token for each request, so an expired token never matters", async () => {
    const imds = await fakeImds();
    try {
      const identity = await readInstanceIdentity({ endpoint: imds.endpoint, attempts: 1 });
      expect(identity).to.deep.equal({ instanceId: "i-0123456789abcdef0", availabilityZone: "us-east-1a" });
      expect(imds.seen).to.deep.equal({ tokens: 2, reads: 2, tokenless: 0, expired: 0 });
    } finally {
      await imds.close();
    }
  });

  it("never falls back to IMDSv1 when no token can be had, and gives up after its attempts", async () => {
    const imds = await fakeImds({ tokenStatus: () => 503 });
    try {
      let error: unknown;
      await readInstanceIdentity({ endpoint: imds.endpoint, attempts: 3, backoff: fast }).catch(
        (err: unknown) => (error = err),
      );
      expect(String(error)).to.include("instance metadata service unreachable after 3 attempts");
      expect(imds.seen.tokens).to.equal(3);
      expect(imds.seen.tokenless, "no request went out without a token").to.equal(0);
    } finally {
      await imds.close();
    }
  });

  for (const status of [503, 403, 404, 405]) {
    it(`retries after the token request answers ${status}, and succeeds once it is answered`, async () => {
      const imds = await fakeImds({ tokenStatus: (n) => (n <= 2 ? status : 200) });
      try {
        const identity = await readInstanceIdentity({ endpoint: imds.endpoint, attempts: 5, backoff: fast });
        expect(identity.instanceId).to.equal("i-0123456789abcdef0");
        expect(imds.seen.tokenless).to.equal(0);
      } finally {
        await imds.close();
      }
    });
  }
});
