/** Runs Terraform with the CLI configuration of deploy/scripts/tf-env.sh (the provider mirror). */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";

export const repoRoot = path.resolve(__dirname, "..", "..", "..");
export const scriptsDir = path.join(repoRoot, "deploy", "scripts");
const run = promisify(execFile);

/**
 * `bash -c "source tf-env.sh && cd dir && <command>"`, with `env` on top of this process's environment
 * (e.g. TF_VAR_* values that must not be written to a file); resolves with stdout, rejects with stderr.
 */
export async function sh(dir: string, command: string, env: Record<string, string> = {}): Promise<string> {
  const script = `source ${JSON.stringify(path.join(scriptsDir, "tf-env.sh"))} && cd ${JSON.stringify(dir)} && ${command}`;
  try {
    const { stdout } = await run("bash", ["-c", script], {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, ...env },
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${command} failed: ${e.stderr ?? ""}${e.stdout?.slice(-2000) ?? ""}${e.message}`, {
      cause: err,
    });
  }
}
