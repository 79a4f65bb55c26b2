/** Messages between the worker and a sandbox process over the IPC channel. */
export interface InvokeMessage {
  type: "invoke";
  invocationId: string;
  event: unknown;
  context: { functionName: string; functionVersion: number; memoryLimitInMB: number; deadlineMs: number };
}

export type SandboxMessage =
  | { type: "ready" }
  | { type: "init-error"; error: { type: string; message: string } }
  | { type: "result"; invocationId: string; ok: true; value: string }
  | { type: "result"; invocationId: string; ok: false; error: { type: string; message: string } };
