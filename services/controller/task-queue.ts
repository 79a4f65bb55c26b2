import { InvocationTask } from "../../contracts";

/** The queue between controller and workers. `send` resolves only once the queue has accepted the task. */
export interface TaskQueue {
  send(task: InvocationTask): Promise<void>;
  /** Messages waiting plus in flight, as last sampled; undefined until the first sample. */
  approximateDepth(): number | undefined;
  close(): Promise<void>;
}

export class QueueUnavailableError extends Error {
  override readonly name = "QueueUnavailableError";
}
