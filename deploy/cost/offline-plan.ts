/**
 * Plans deploy/terraform with no AWS credentials, no secrets and no network, in a working directory
 * prepared by deploy/scripts/tf-plandir.sh (placeholder credentials, closed endpoints, the two
 * plan-time data sources replaced), and returns `terraform show -json` of each plan. Several variable
 * sets (default, a profile, a what-if) are planned at once from one initialised directory: no state,
 * so the plans do not share anything but the provider.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface PlanRequest {
  /** -var-file arguments, applied in order after the placeholders. */
  varFiles?: string[];
  /** -var arguments, applied last. */
  vars?: Record<string, string>;
}

export class OfflinePlanError extends Error {
  override readonly name = "OfflinePlanError";
}

function bash(repoRoot: string, dir: string, command: string, env?: NodeJS.ProcessEnv) {
  const script = `source ${JSON.stringify(path.join(repoRoot, "deploy/scripts/tf-env.sh"))} && cd ${JSON.stringify(dir)} && ${command}`;
  return run("bash", ["-c", script], { maxBuffer: 64 * 1024 * 1024, env: env ?? process.env });
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface OfflinePlanner extends AsyncDisposable {
  readonly dir: string;
  plan(request: PlanRequest): Promise<string>;
  /**
   * An expression evaluated against the plan of `request` (`terraform console -plan`), as the console
   * prints it: what a plan shows only as unknown (a launch template's user data) can be read from the
   * locals that feed it.
   */
  evaluate(request: PlanRequest, expression: string): Promise<string>;
}

/**
 * An initialised offline working directory. The AWS environment is removed from every Terraform run:
 * nothing of the caller's credentials, profile or endpoint is used, whatever the shell has set.
 */
export async function offlinePlanner(repoRoot: string): Promise<OfflinePlanner> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-plan-"));
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_") && !k.startsWith("TF_VAR_")),
  );
  const fail = (what: string, err: unknown): never => {
    const e = err as { stderr?: string; message?: string };
    throw new OfflinePlanError(`${what} failed: ${(e.stderr ?? e.message ?? String(err)).trim()}`);
  };
  try {
    await bash(repoRoot, repoRoot, `bash deploy/scripts/tf-plandir.sh ${quote(dir)} >/dev/null`, env);
    await bash(repoRoot, dir, "terraform init -input=false -backend=false >/dev/null", env);
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    fail("preparing the offline plan", err);
  }
  let n = 0;
  const remove = () => {
    fs.rmSync(dir, { recursive: true, force: true });
    return Promise.resolve();
  };
  const argsOf = (request: PlanRequest) =>
    [
      ...(request.varFiles ?? []).map((f) => `-var-file=${quote(path.resolve(f))}`),
      ...Object.entries(request.vars ?? {}).map(([k, v]) => `-var=${quote(`${k}=${v}`)}`),
    ].join(" ");
  return {
    dir,
    async evaluate(request, expression) {
      const args = argsOf(request);
      try {
        const { stdout } = await bash(
          repoRoot,
          dir,
          `printf '%s\\n' ${quote(expression)} | terraform console -plan ${args}`,
          env,
        );
        return stdout.trim();
      } catch (err) {
        return fail(`terraform console -plan ${args}`, err);
      }
    },
    async plan(request) {
      const out = `plan-${++n}.out`;
      const args = argsOf(request);
      try {
        await bash(
          repoRoot,
          dir,
          `terraform plan -input=false -lock=false -refresh=false -no-color ${args} -out=${out} >/dev/null`,
          env,
        );
        const { stdout } = await bash(repoRoot, dir, `terraform show -json ${out}`, env);
        return stdout;
      } catch (err) {
        return fail(`terraform plan ${args}`, err);
      } finally {
        fs.rmSync(path.join(dir, out), { force: true });
      }
    },
    [Symbol.asyncDispose]: remove,
  };
}
