import http from "node:http";
import net from "node:net";
import { once } from "node:events";
import { expect } from "chai";
import { DescribeAddressesCommand } from "@aws-sdk/client-ec2";
import { AddressAssociation, ElasticIpEdge } from "../../emulator/edge";
import { freePort } from "../../emulator/ports";

/** An instance's HTTP server on a free port, answering with its own name and what it received. */
async function instance(name: string): Promise<{ port: number; server: http.Server }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      res.setHeader("x-instance", name);
      res.setHeader("x-received-bytes", String(body.length));
      res.end(`${name}:${req.method ?? ""} ${req.url ?? ""}`);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { port: (server.address() as net.AddressInfo).port, server };
}

/** The EC2 API as the edge uses it: DescribeAddresses answering the association set by the test. */
class FakeEc2 {
  associatedWith: string | undefined;
  failing = false;
  calls = 0;
  send(command: unknown): Promise<unknown> {
    if (this.failing) return Promise.reject(new Error("the EC2 API is unreachable"));
    if (!(command instanceof DescribeAddressesCommand))
      return Promise.reject(new Error("unexpected command"));
    this.calls++;
    return Promise.resolve({ Addresses: [{ AllocationId: "eipalloc-1", InstanceId: this.associatedWith }] });
  }
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, agent: http.Agent | false, options: http.RequestOptions = {}, body?: Buffer) {
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, agent, path: "/x?y=1", ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("the Elastic IP edge (a TCP pass-through)", () => {
  const ec2 = new FakeEc2();
  const instances = new Map<string, { port: number; server: http.Server }>();
  let edge: ElasticIpEdge;
  let port: number;

  before(async () => {
    instances.set("i-a", await instance("i-a"));
    instances.set("i-b", await instance("i-b"));
    // Port 0: the OS chooses while the edge binds (a port read free first can be taken before the bind).
    edge = new ElasticIpEdge({
      port: 0,
      allocationId: "eipalloc-1",
      ec2,
      refreshMs: 60_000, // the tests refresh by hand
      targetOf: (id) => {
        const i = instances.get(id);
        return i === undefined ? undefined : { host: "127.0.0.1", port: i.port };
      },
    });
    await edge.start();
    port = edge.port;
  });

  after(async () => {
    await edge.stop();
    for (const i of instances.values()) {
      i.server.closeAllConnections();
      i.server.close();
    }
  });

  beforeEach(async () => {
    ec2.associatedWith = "i-a";
    await edge.refresh();
  });

  it("carries requests to the associated instance, several on one kept-alive connection", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await request(port, agent, { method: "POST" }, Buffer.from("hello"));
      const second = await request(port, agent);
      expect(first).to.include({ status: 200, body: "i-a:POST /x?y=1" });
      expect(first.headers["x-received-bytes"]).to.equal("5");
      expect(second.body).to.equal("i-a:GET /x?y=1");
      expect(edge.openFlows).to.equal(1);
    } finally {
      agent.destroy();
    }
  });

  it("carries large bodies both ways unchanged, byte for byte", async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    const answer = await request(port, false, { method: "PUT" }, big);
    expect(answer.headers["x-received-bytes"]).to.equal(String(big.length));
  });

  it("does not parse what it carries: bytes that are not HTTP pass through (TLS would)", async () => {
    const echo = net.createServer((s) => s.pipe(s));
    echo.listen(0, "127.0.0.1");
    await once(echo, "listening");
    instances.set("i-echo", { port: (echo.address() as net.AddressInfo).port, server: echo as never });
    ec2.associatedWith = "i-echo";
    await edge.refresh();
    try {
      const socket = net.connect(port, "127.0.0.1");
      const payload = Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x00, 0x0d, 0x0a]);
      socket.end(payload);
      const chunks: Buffer[] = [];
      socket.on("data", (c: Buffer) => chunks.push(c));
      await once(socket, "close");
      expect(Buffer.concat(chunks).equals(payload)).to.equal(true);
    } finally {
      instances.delete("i-echo");
      echo.close();
    }
  });

  it("answers a request whose client closes its sending side first (half-close)", async () => {
    const socket = net.connect(port, "127.0.0.1");
    socket.end("GET /half HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    await once(socket, "close");
    expect(Buffer.concat(chunks).toString()).to.match(/^HTTP\/1\.1 200 OK[\s\S]*i-a:GET \/half$/);
  });

  it("answers 503 with Retry-After when the address is not associated, and closes the connection", async () => {
    ec2.associatedWith = undefined;
    await edge.refresh();
    const answer = await request(port, false, { method: "POST" }, Buffer.from("{}"));
    expect(answer.status).to.equal(503);
    expect(answer.headers["retry-after"]).to.equal("1");
    expect(answer.headers.connection).to.equal("close");
    const body = JSON.parse(answer.body) as { error: { code: string; message: string } };
    expect(body.error.code).to.equal("ServiceUnavailable");
    expect(body.error.message).to.match(/not associated with any instance/);
  });

  it("answers 503 when the instance refuses the connection, and re-reads the association at once", async () => {
    const closed = await freePort();
    instances.set("i-down", { port: closed, server: http.createServer() });
    ec2.associatedWith = "i-down";
    await edge.refresh();
    try {
      const before = ec2.calls;
      const answer = await request(port, false);
      expect(answer.status).to.equal(503);
      expect(answer.body).to.match(/i-down\) did not answer: .*ECONNREFUSED/);
      expect(ec2.calls).to.be.greaterThan(before);
    } finally {
      instances.delete("i-down");
    }
  });

  it("resets connections to the old instance when the address moves, and carries new ones to the new one", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await request(port, agent)).body).to.equal("i-a:GET /x?y=1");
      const [socket] = Object.values(agent.freeSockets).flat();
      expect(socket).to.not.equal(undefined);
      const closed = once(socket as net.Socket, "close");
      ec2.associatedWith = "i-b";
      await edge.refresh();
      await closed;
      expect(edge.openFlows).to.equal(0);
      const after = await request(port, agent);
      expect(after.body).to.equal("i-b:GET /x?y=1");
    } finally {
      agent.destroy();
    }
  });

  it("with a remap delay, carries traffic to the new instance only once the delay has passed", async () => {
    const slow = new ElasticIpEdge({
      port: 0,
      allocationId: "eipalloc-1",
      ec2,
      refreshMs: 60_000,
      remapDelayMs: 300,
      targetOf: (id) => {
        const i = instances.get(id);
        return i === undefined ? undefined : { host: "127.0.0.1", port: i.port };
      },
    });
    await slow.start();
    const p = slow.port;
    try {
      expect(slow.instanceId, "the first association applies at once").to.equal("i-a");
      ec2.associatedWith = "i-b";
      await slow.refresh();
      expect((await request(p, false)).body, "still the old instance").to.equal("i-a:GET /x?y=1");
      await new Promise((r) => setTimeout(r, 320));
      await slow.refresh();
      expect((await request(p, false)).body).to.equal("i-b:GET /x?y=1");
    } finally {
      await slow.stop();
    }
  });

  it("keeps the last association while DescribeAddresses fails", async () => {
    ec2.failing = true;
    try {
      await edge.refresh();
      expect(edge.instanceId).to.equal("i-a");
      expect((await request(port, false)).body).to.equal("i-a:GET /x?y=1");
    } finally {
      ec2.failing = false;
    }
  });

  it("lets two listeners share one reading of the address, each carrying to its own target", async () => {
    const association = new AddressAssociation({ allocationId: "eipalloc-1", ec2, refreshMs: 60_000 });
    const listener = (name: "i-a" | "i-b") =>
      new ElasticIpEdge({
        port: 0,
        association,
        // The second listener carries each instance's traffic to the other server: its own target.
        targetOf: (id) => {
          const i = instances.get(name === "i-a" ? id : id === "i-a" ? "i-b" : "i-a");
          return i === undefined ? undefined : { host: "127.0.0.1", port: i.port };
        },
      });
    const edges = [listener("i-a"), listener("i-b")];
    await Promise.all(edges.map((e) => e.start()));
    const [p1, p2] = edges.map((e) => e.port) as [number, number];
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = ec2.calls;
      await Promise.all([edges[0]?.refresh(), edges[1]?.refresh(), association.refresh()]);
      // The first call reads; the two asked meanwhile share one reading after it (not one each).
      expect(ec2.calls - before, "DescribeAddresses calls for three refreshes at once").to.equal(2);
      expect((await request(p1, agent)).body).to.equal("i-a:GET /x?y=1");
      expect((await request(p2, false)).body).to.equal("i-b:GET /x?y=1");
      ec2.associatedWith = "i-b";
      await association.refresh();
      expect(edges.map((e) => e.instanceId)).to.deep.equal(["i-b", "i-b"]);
      // The kept-alive connection to the old instance was reset on the move; a new one goes to i-b.
      expect((await request(p1, agent)).body).to.equal("i-b:GET /x?y=1");
    } finally {
      agent.destroy();
      association.stop();
      await Promise.all(edges.map((e) => e.stop()));
    }
  });
});
