/**
 * A seccomp filter for every function runtime: the kernel interfaces a function never needs and that
 * have been the way out of containers (the kernel keyring, eBPF, perf events, userfaultfd, io_uring,
 * ptrace, module and kexec loading, mounts and namespaces, file handles by number) answer EPERM.
 * It narrows the shared kernel a function can reach; it is not a VM boundary (docs/isolation.md).
 *
 * bubblewrap loads it (`--seccomp FD`) just before it runs node, after its own setup, as the compiled
 * classic-BPF program libseccomp would export. Built here so no native dependency is needed: a
 * denylist per architecture, the foreign-ABI guard first (a filter matched on another architecture's
 * numbers would be no filter at all).
 */

const SECCOMP_RET_KILL_PROCESS = 0x80000000;
const SECCOMP_RET_ERRNO = 0x00050000;
const SECCOMP_RET_ALLOW = 0x7fff0000;
const EPERM = 1;

const BPF_LD_W_ABS = 0x20;
const BPF_JMP_JEQ_K = 0x15;
const BPF_JMP_JGE_K = 0x35;
const BPF_RET_K = 0x06;

/** offsetof(struct seccomp_data, nr) and (…, arch). */
const NR_OFFSET = 0;
const ARCH_OFFSET = 4;

interface Arch {
  audit: number;
  /** Syscall numbers at and above this belong to another ABI on the same architecture (x32). */
  foreignAbiFrom?: number;
  denied: Record<string, number>;
}

const ARCHES: Partial<Record<NodeJS.Architecture, Arch>> = {
  // arch/x86/entry/syscalls/syscall_64.tbl
  x64: {
    audit: 0xc000003e,
    foreignAbiFrom: 0x40000000,
    denied: {
      add_key: 248,
      request_key: 249,
      keyctl: 250,
      bpf: 321,
      perf_event_open: 298,
      userfaultfd: 323,
      io_uring_setup: 425,
      io_uring_enter: 426,
      io_uring_register: 427,
      ptrace: 101,
      process_vm_readv: 310,
      process_vm_writev: 311,
      kexec_load: 246,
      kexec_file_load: 320,
      init_module: 175,
      finit_module: 313,
      delete_module: 176,
      reboot: 169,
      swapon: 167,
      swapoff: 168,
      acct: 163,
      syslog: 103,
      mount: 165,
      umount2: 166,
      pivot_root: 155,
      unshare: 272,
      setns: 308,
      name_to_handle_at: 303,
      open_by_handle_at: 304,
      fanotify_init: 300,
      quotactl: 179,
      open_tree: 428,
      move_mount: 429,
      fsopen: 430,
      fsconfig: 431,
      fsmount: 432,
      fspick: 433,
      mount_setattr: 442,
    },
  },
  // include/uapi/asm-generic/unistd.h (arm64 workers: t4g)
  arm64: {
    audit: 0xc00000b7,
    denied: {
      add_key: 217,
      request_key: 218,
      keyctl: 219,
      bpf: 280,
      perf_event_open: 241,
      userfaultfd: 282,
      io_uring_setup: 425,
      io_uring_enter: 426,
      io_uring_register: 427,
      ptrace: 117,
      process_vm_readv: 270,
      process_vm_writev: 271,
      kexec_load: 104,
      kexec_file_load: 294,
      init_module: 105,
      finit_module: 273,
      delete_module: 106,
      reboot: 142,
      swapon: 224,
      swapoff: 225,
      acct: 89,
      syslog: 116,
      mount: 40,
      umount2: 39,
      pivot_root: 41,
      unshare: 97,
      setns: 268,
      name_to_handle_at: 264,
      open_by_handle_at: 265,
      fanotify_init: 262,
      quotactl: 60,
      open_tree: 428,
      move_mount: 429,
      fsopen: 430,
      fsconfig: 431,
      fsmount: 432,
      fspick: 433,
      mount_setattr: 442,
    },
  },
};

/** The names of the denied system calls on this architecture (for the docs and the heartbeat). */
export function deniedSyscalls(arch: NodeJS.Architecture = process.arch): string[] {
  return Object.keys(ARCHES[arch]?.denied ?? {});
}

/** The compiled filter for this architecture, or undefined where the worker has no table for it. */
export function seccompFilter(arch: NodeJS.Architecture = process.arch): Buffer | undefined {
  const a = ARCHES[arch];
  if (a === undefined) return undefined;
  const numbers = Object.values(a.denied);
  const program: [number, number, number, number][] = [];
  // [code, jt, jf, k]; jumps count instructions after the next one.
  program.push([BPF_LD_W_ABS, 0, 0, ARCH_OFFSET]);
  program.push([BPF_JMP_JEQ_K, 1, 0, a.audit]);
  program.push([BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS]);
  program.push([BPF_LD_W_ABS, 0, 0, NR_OFFSET]);
  const checks = (a.foreignAbiFrom !== undefined ? 1 : 0) + numbers.length;
  // The deny instruction comes right after the checks and the allow.
  const denyAt = program.length + checks + 1;
  if (a.foreignAbiFrom !== undefined)
    program.push([BPF_JMP_JGE_K, denyAt - program.length - 1, 0, a.foreignAbiFrom]);
  for (const nr of numbers) program.push([BPF_JMP_JEQ_K, denyAt - program.length - 1, 0, nr]);
  program.push([BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW]);
  program.push([BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM]);
  const out = Buffer.alloc(program.length * 8);
  program.forEach(([code, jt, jf, k], i) => {
    out.writeUInt16LE(code, i * 8);
    out.writeUInt8(jt, i * 8 + 2);
    out.writeUInt8(jf, i * 8 + 3);
    out.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  return out;
}
