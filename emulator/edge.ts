/**
 * The Elastic IP edge: the only public address. It listens where the Elastic IP would be (locally
 * 127.0.0.1:8080) and carries each TCP connection, byte for byte, to the instance the address is
 * associated with in the AWS emulator — as the address itself does: it does not parse HTTP, so TLS
 * passes through and a request costs one extra socket hop, not a second HTTP server.
 *
 * When the association moves, the connections open to the old instance are reset, as a remapped
 * address resets them (their packets reach an instance that never saw the connection). With no
 * association, or an instance that refuses the connection, the edge answers the connection itself
 * with a 503 and `Retry-After` (an unassociated Elastic IP would time out instead; the 503 says why
 * at once). The association is re-read every `refreshMs` and at once after a refused connection.
 */
import http from "node:http";
import net from "node:net";
import { DescribeAddressesCommand, EC2Client } from "@aws-sdk/client-ec2";

export interface AssociationOptions {
  allocationId: string;
  ec2: Pick<EC2Client, "send">;
  refreshMs?: number;
  /**
   * How long a new association takes to carry traffic (AWS_TIMING: 2 s). AWS documents no figure for
   * remapping an Elastic IP ("rapidly remapping"); 2 s is our assumption from public failover reports
   * of a few seconds. Meanwhile connections still go where the address pointed before.
   */
  remapDelayMs?: number;
}

export type EdgeOptions = {
  port: number;
  host?: string;
  /** Where an instance serves, or undefined when it has no running server. */
  targetOf: (instanceId: string) => { host: string; port: number } | undefined;
} & (
  | AssociationOptions
  /** Several listeners of one address (the public API, the private listener) share one reading of it. */
  | { association: AddressAssociation }
);

/**
 * Where an Elastic IP points, as the traffic sees it: DescribeAddresses every `refreshMs` (and at once
 * when asked), a new association taking effect `remapDelayMs` after it appears. One per address,
 * however many listeners carry its traffic: each reading costs the AWS emulator a request.
 */
export class AddressAssociation {
  private associatedWith: string | undefined;
  private remap: { to: string | undefined; since: number } | undefined;
  private started = false;
  private starting: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private followUp: Promise<void> | undefined;
  private readonly listeners = new Set<(instanceId: string | undefined) => void>();

  constructor(private readonly options: AssociationOptions) {}

  get instanceId(): string | undefined {
    return this.associatedWith;
  }

  /** Called with the new instance (or undefined) whenever the address moves. */
  onChange(listener: (instanceId: string | undefined) => void): void {
    this.listeners.add(listener);
  }

  /** The first reading, then one every `refreshMs`; listeners sharing the association may all call it. */
  start(): Promise<void> {
    this.starting ??= this.refresh().then(() => {
      this.started = true;
      this.timer = setInterval(() => void this.refresh(), this.options.refreshMs ?? 200);
    });
    return this.starting;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Reads the association now. While a reading is under way (it may have been asked before what the
   * caller saw, a refused connection say), one more follows it, shared by every caller meanwhile.
   */
  refresh(): Promise<void> {
    if (this.reading === undefined) {
      this.reading = this.read().finally(() => (this.reading = undefined));
      return this.reading;
    }
    this.followUp ??= this.reading.then(() => {
      this.followUp = undefined;
      return this.refresh();
    });
    return this.followUp;
  }

  private async read(): Promise<void> {
    let id: string | undefined;
    try {
      const out = await this.options.ec2.send(
        new DescribeAddressesCommand({ AllocationIds: [this.options.allocationId] }),
      );
      id = out.Addresses?.[0]?.InstanceId;
    } catch {
      // Keep the last known association while the EC2 API hiccups.
      return;
    }
    const next = id === undefined || id === "" ? undefined : id;
    const delay = this.started ? (this.options.remapDelayMs ?? 0) : 0;
    if (next !== this.associatedWith && delay > 0) {
      if (this.remap === undefined || this.remap.to !== next) this.remap = { to: next, since: Date.now() };
      if (Date.now() - this.remap.since < delay) return;
    }
    this.remap = undefined;
    if (next === this.associatedWith) return;
    this.associatedWith = next;
    for (const listener of this.listeners) listener(next);
  }
}

/** A client connection carried to an instance. */
interface Flow {
  instanceId: string;
  client: net.Socket;
  upstream: net.Socket;
}

export class ElasticIpEdge {
  private server: net.Server | undefined;
  /** Answers, over HTTP, the connections the edge cannot carry anywhere. */
  private readonly refusals = http.createServer((req, res) => {
    unavailable(res, this.refusalReason.get(req.socket) ?? "the Elastic IP is not serving");
  });
  private readonly refusalReason = new WeakMap<net.Socket, string>();
  private readonly flows = new Set<Flow>();
  private readonly association: AddressAssociation;
  /** The edge reads the address itself (not given an association shared with other listeners). */
  private readonly ownsAssociation: boolean;

  constructor(private readonly options: EdgeOptions) {
    this.ownsAssociation = !("association" in options);
    this.association = "association" in options ? options.association : new AddressAssociation(options);
    this.association.onChange((instanceId) => {
      for (const flow of this.flows) if (flow.instanceId !== instanceId) this.reset(flow);
    });
  }

  get instanceId(): string | undefined {
    return this.association.instanceId;
  }

  /** The port the edge listens on once started (the one asked for, or the one the OS chose for 0). */
  get port(): number {
    const address = this.server?.address();
    if (address === null || address === undefined || typeof address === "string")
      throw new Error("the edge is not listening");
    return address.port;
  }

  /** Connections carried to instances now. */
  get openFlows(): number {
    return this.flows.size;
  }

  async start(): Promise<void> {
    await this.association.start();
    // Paused until the edge knows where a connection goes: its first bytes stay in the kernel, for
    // the instance or for the refusal.
    this.server = net.createServer({ pauseOnConnect: true, noDelay: true, allowHalfOpen: true }, (client) =>
      this.carry(client),
    );
    await new Promise<void>((resolve, reject) => {
      this.server?.once("error", reject);
      this.server?.listen(this.options.port, this.options.host ?? "127.0.0.1", resolve);
    });
  }

  async stop(): Promise<void> {
    if (this.ownsAssociation) this.association.stop();
    for (const flow of this.flows) this.reset(flow);
    this.refusals.closeAllConnections();
    const server = this.server;
    if (server === undefined) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Reads the address's association now. */
  refresh(): Promise<void> {
    return this.association.refresh();
  }

  private carry(client: net.Socket): void {
    client.on("error", () => undefined);
    const instanceId = this.instanceId;
    const target = instanceId === undefined ? undefined : this.options.targetOf(instanceId);
    if (instanceId === undefined || target === undefined) {
      this.refuse(
        client,
        instanceId === undefined
          ? "the Elastic IP is not associated with any instance (a controller is booting or being replaced); retry shortly"
          : `the Elastic IP points to ${instanceId}, which is not serving`,
      );
      return;
    }
    const upstream = net.connect({
      host: target.host,
      port: target.port,
      noDelay: true,
      allowHalfOpen: true,
    });
    const flow: Flow = { instanceId, client, upstream };
    let connected = false;
    upstream.once("error", (err) => {
      if (!connected) {
        // Nothing reached the instance: the client's request is still unread, and the edge answers it.
        void this.refresh();
        this.refuse(
          client,
          `the instance behind the Elastic IP (${instanceId}) did not answer: ${err.message}`,
        );
      } else {
        this.reset(flow);
      }
    });
    upstream.once("connect", () => {
      connected = true;
      if (client.destroyed || this.instanceId !== instanceId) {
        this.reset(flow);
        return;
      }
      this.flows.add(flow);
      client.pipe(upstream);
      upstream.pipe(client);
      const close = () => {
        this.flows.delete(flow);
        client.destroy();
        upstream.destroy();
      };
      client.once("close", close);
      upstream.once("close", close);
      client.on("error", close);
      upstream.on("error", close);
    });
  }

  /** Answers the connection with a 503 over HTTP, then closes it. */
  private refuse(client: net.Socket, reason: string): void {
    this.refusalReason.set(client, reason);
    this.refusals.emit("connection", client);
    client.resume();
  }

  private reset(flow: Flow): void {
    this.flows.delete(flow);
    flow.upstream.destroy();
    const { client } = flow;
    if (client.destroyed) return;
    // A reset (RST) is what the client of a remapped address sees; a connection already closing in
    // either direction is only destroyed (resetAndDestroy on a half-closed socket leaves its handle
    // behind in Node 24, keeping the process alive).
    if (client.readableEnded || client.writableEnded) client.destroy();
    else client.resetAndDestroy();
  }
}

function unavailable(res: http.ServerResponse, message: string): void {
  const body = JSON.stringify({ error: { code: "ServiceUnavailable", message } });
  res.writeHead(503, {
    "content-type": "application/json",
    "retry-after": "1",
    "content-length": Buffer.byteLength(body),
    connection: "close",
  });
  res.end(body);
}
