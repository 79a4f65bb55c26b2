/**
 * What `--runtime` may ask for. Apart from runtime-choice.ts, which loads the Docker client, so that
 * reading the CLI's options costs no Docker (about 0.2 s of module loading).
 */
import type { RuntimeKind } from "./infrastructure";

export type RuntimeRequest = RuntimeKind | "auto";
export const RUNTIME_REQUESTS: RuntimeRequest[] = ["auto", "docker", "process"];
