import { readFileSync } from "node:fs";
import type { CommandModule } from "yargs";
import { delegateCgroups, undelegateCgroups } from "../../services/worker/sandbox/cgroups";
import { UserError } from "../errors";

interface SetupArgs {
  user?: string;
  undo: boolean;
}

/**
 * `sudo bin/faas setup`: the one step that needs root for a non-root `make dev` to cap its function
 * sandboxes with cgroups (memory, CPU, process count, freezing). Everything else works without it.
 */
export const setupCommand: CommandModule<object, SetupArgs> = {
  command: "setup",
  describe: "As root: delegate a cgroup subtree to a user, so their workers cap every function sandbox",
  builder: (y) =>
    y
      .option("user", {
        type: "string",
        describe: "the user who runs `make dev` (default: the user who ran sudo)",
      })
      .option("undo", { type: "boolean", default: false, describe: "remove the delegated subtree" }),
  handler: async (args) => {
    if (process.getuid?.() !== 0)
      throw new UserError("faas setup changes /sys/fs/cgroup: run it as root (sudo bin/faas setup)");
    const name = args.user ?? process.env.SUDO_USER;
    if (name === undefined || name === "root")
      throw new UserError("name the user who runs `make dev`: sudo bin/faas setup --user <name>");
    const entry = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .map((l) => l.split(":"))
      .find((f) => f[0] === name);
    if (entry?.[2] === undefined || entry[3] === undefined)
      throw new UserError(`no user '${name}' in /etc/passwd`);
    const [uid, gid] = [Number(entry[2]), Number(entry[3])];
    try {
      const dirs = args.undo ? await undelegateCgroups(uid) : delegateCgroups(uid, gid);
      process.stdout.write(
        args.undo
          ? `removed ${dirs.join(", ") || "nothing (no subtree was delegated)"}\n`
          : `delegated to ${name} (uid ${uid}):\n${dirs.map((d) => `  ${d}`).join("\n")}\n` +
              "Workers started by this user now cap each function sandbox (memory, CPU, processes) and freeze idle ones.\n" +
              "cgroups do not survive a reboot: run this again after one. `faas dev status` shows what holds.\n",
      );
    } catch (err) {
      throw new UserError(`faas setup: ${(err as Error).message}`);
    }
  },
};
