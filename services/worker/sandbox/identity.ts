import { readFileSync } from "node:fs";
import { SandboxIdentity } from "./sandbox-process";

/**
 * Functions run as an unprivileged user when the worker may switch users (it runs as root, as on the
 * AMI). Otherwise they run as the worker's own user: they still get an empty environment, but could
 * read files that user can read (docs/isolation.md lists what remains).
 */
export function resolveSandboxIdentity(
  user: string,
  passwd = "/etc/passwd",
): SandboxIdentity & { user: string } {
  if (process.getuid?.() !== 0) return { user: "(worker's own user)" };
  const line = readFileSync(passwd, "utf8")
    .split("\n")
    .find((l) => l.split(":")[0] === user);
  const [, , uid, gid] = line?.split(":") ?? [];
  if (uid === undefined || gid === undefined)
    throw new Error(`FAAS_SANDBOX_USER: no user '${user}' in ${passwd}`);
  return { user, uid: Number(uid), gid: Number(gid) };
}
