/** The registry of chaos scenarios, in the order a full run plays them. One file per scenario. */
import { Scenario } from "../context";
import { controllerKill } from "./controller-kill";
import { controllerPause } from "./controller-pause";
import { controllerReplace } from "./controller-replace";
import { queueCut } from "./queue-cut";
import { redisRestart } from "./redis-restart";
import { workerKill } from "./worker-kill";
import { workerPause } from "./worker-pause";

export const SCENARIOS = [
  controllerKill,
  controllerPause,
  controllerReplace,
  workerKill,
  workerPause,
  redisRestart,
  queueCut,
] as const;

export type ScenarioName = (typeof SCENARIOS)[number]["name"];

export const ALL_SCENARIOS: ScenarioName[] = SCENARIOS.map((s) => s.name);

export function scenario(name: ScenarioName): Scenario<ScenarioName> {
  const found = SCENARIOS.find((s) => s.name === name);
  if (found === undefined) throw new Error(`no chaos scenario ${name}`);
  return found;
}
