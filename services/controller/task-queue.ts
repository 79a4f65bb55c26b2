import { InvocationTask } from "../../contracts";

/**
 * The queue between controller and workers. `send` resolves only once the queue has accepted the task,
 * and rejects with a QueueUnavailableError (errors.ts) when it did not.
 */
export interface TaskQueue {
  send(task: InvocationTask): Promise<void>;
  /** Messages waiting plus in flight, as last sampled; undefined until the first sample. */
  approximateDepth(): number | undefined;
  close(): Promise<void>;
}
