/**
 * Cold starts as a caller meets them: the first invocation of a new version (the same function
 * deployed again with a different source), synchronous, through the edge, one at a time. Split with
 * what the worker records in its "invocation finished" line (services/worker/task-processor.ts):
 * `codeFetchMs` (S3 GetObject), `codeUnpackMs` (write, unzip, chmod, rename into the code cache) and
 * `initMs` (the sandbox started up to the runtime's "ready": bwrap/cgroups/uid, Node.js booted, the
 * handler's module loaded), against the caller's end-to-end time and the worker's `durationMs`.
 */
import { PlatformClient } from "../client/platform-client";
import { notYet, waitFor } from "../emulator/wait";
import { Cloud } from "./cloud";

export interface ColdStartSplit {
  versions: number;
  /** Invocations that were not cold, or whose worker line was not found. */
  missed: number;
  endToEndMs: number[];
  fetchMs: number[];
  unpackMs: number[];
  initMs: number[];
  durationMs: number[];
  /** Receipt from the queue to the result stored, on the worker. */
  handledMs: number[];
}

const FUNCTION = "bench-cold";

/** The fields of the worker's "invocation finished" line this needs, or undefined for any other line. */
function finishedLine(line: string, invocationId: string): Record<string, unknown> | undefined {
  const json = line.slice(line.indexOf("{"));
  if (!json.includes(invocationId)) return undefined;
  try {
    const entry = JSON.parse(json) as Record<string, unknown>;
    return entry.invocationId === invocationId && entry.msg === "invocation finished" ? entry : undefined;
  } catch {
    return undefined;
  }
}

export async function coldStartSplit(cloud: Cloud, versions: number): Promise<ColdStartSplit> {
  const client = new PlatformClient(cloud.env.endpoint, cloud.apiKey);
  const out: ColdStartSplit = {
    versions,
    missed: 0,
    endToEndMs: [],
    fetchMs: [],
    unpackMs: [],
    initMs: [],
    durationMs: [],
    handledMs: [],
  };
  const tag = Date.now().toString(36);
  for (let v = 0; v < versions; v++) {
    // A different source is a different code object: a new version, its code fetched on first use.
    await client.deploy(FUNCTION, {
      source: `exports.handler = async (event) => ({ ok: true, version: "${tag}-${v}", n: event.n });`,
    });
    const t0 = performance.now();
    const answer = await client.invoke(FUNCTION, { n: v });
    const endToEnd = performance.now() - t0;
    const id = answer.invocationId;
    if (answer.status !== 200 || answer.coldStart !== true || id === undefined) {
      out.missed++;
      continue;
    }
    // The worker logs the line just after storing the result: it may reach us after the answer.
    const entry = await waitFor(
      "the worker's line for the invocation",
      () => {
        for (let i = cloud.logs.length - 1; i >= 0; i--) {
          const found = finishedLine(cloud.logs[i] ?? "", id);
          if (found) return found;
        }
        return notYet("not logged yet");
      },
      { timeoutMs: 5_000, intervalMs: 20 },
    ).catch(() => undefined);
    const num = (key: string) => (typeof entry?.[key] === "number" ? entry[key] : undefined);
    const fetch = num("codeFetchMs");
    const unpack = num("codeUnpackMs");
    const init = num("initMs");
    if (fetch === undefined || unpack === undefined || init === undefined) {
      out.missed++;
      continue;
    }
    out.endToEndMs.push(endToEnd);
    out.fetchMs.push(fetch);
    out.unpackMs.push(unpack);
    out.initMs.push(init);
    out.durationMs.push(num("durationMs") ?? NaN);
    out.handledMs.push(num("handledMs") ?? NaN);
  }
  return out;
}
