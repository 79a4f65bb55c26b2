/**
 * When the emulator launches an instance it sets FAAS_EXIT_WITH_PARENT and keeps the child's stdin
 * open: if the emulator dies, even by SIGKILL, the pipe closes and the instance stops too, so nothing
 * is left running. Real instances never set it.
 */
export function exitWithParent(
  stop: () => void,
  env: Record<string, string | undefined> = process.env,
): void {
  if (env.FAAS_EXIT_WITH_PARENT !== "1") return;
  process.stdin.on("end", stop);
  process.stdin.on("error", stop);
  process.stdin.resume();
}
