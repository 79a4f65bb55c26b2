/**
 * Follows one log file by byte offset, as the CloudWatch agent's tailer does: each `read` returns the
 * complete lines appended since the last one, each with the offset just past it. A last line without
 * its newline is held back until the newline comes (or `drain` at shutdown hands it over as it is).
 *
 * Rotation, as logrotate does it on the AMI (deploy/packer/files/logrotate.conf, copytruncate): the
 * file shrinking below the offset means it was truncated, and reading starts again at 0 (lines written
 * between logrotate's copy and its truncation are lost, on EC2 too). A new file under the same name (a
 * rename and create) is noticed by its inode: the old one is read to its end first, then the new one
 * from 0. A file that does not exist yet is waited for.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";

export interface TailLine {
  text: string;
  /** The offset just past the line (and its newline) in the file it was read from. */
  endOffset: number;
}

const CHUNK = 1024 * 1024;

export class FileTail {
  private fd: number | undefined;
  private ino: number | undefined;
  private offset: number;
  /** Bytes of a line whose newline has not come yet. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** A line longer than this keeps only its head (it is truncated to CloudWatch's limit anyway). */
  private readonly maxLineBytes: number;

  constructor(
    readonly path: string,
    start: { offset: number; ino?: number } = { offset: 0 },
    maxLineBytes = 1024 * 1024,
  ) {
    this.offset = start.offset;
    this.ino = start.ino;
    this.maxLineBytes = maxLineBytes;
  }

  /** Where the next line starts, and which file that offset is in: what the agent's state records. */
  get position(): { offset: number; ino: number | undefined } {
    return { offset: this.offset - this.partialBytes, ino: this.ino };
  }

  /** The complete lines appended since the last call. */
  read(): TailLine[] {
    const lines: TailLine[] = [];
    if (!this.ensureOpen()) return lines;
    const current = this.fileIno();
    if (current !== undefined && current !== this.ino) {
      // Rotated away: finish the old file, then follow the new one from its start.
      this.readToEnd(lines);
      this.flushPartial(lines);
      this.reopen();
      if (this.fd === undefined) return lines;
    }
    this.readToEnd(lines);
    return lines;
  }

  /** At shutdown: the lines left, and a last line without its newline as it is. */
  drain(): TailLine[] {
    const lines = this.read();
    this.flushPartial(lines);
    return lines;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private ensureOpen(): boolean {
    if (this.fd !== undefined) return true;
    try {
      this.fd = openSync(this.path, "r");
    } catch {
      return false;
    }
    const ino = fstatSync(this.fd).ino;
    // The recorded offset belongs to another file (or none was recorded): start at the beginning.
    if (this.ino !== undefined && this.ino !== ino) this.offset = 0;
    this.ino = ino;
    return true;
  }

  private reopen(): void {
    this.close();
    this.ino = undefined;
    this.offset = 0;
    this.ensureOpen();
  }

  private fileIno(): number | undefined {
    try {
      return statSync(this.path).ino;
    } catch {
      return undefined;
    }
  }

  private readToEnd(lines: TailLine[]): void {
    const fd = this.fd;
    if (fd === undefined) return;
    const size = fstatSync(fd).size;
    if (size < this.offset) {
      // Truncated in place (copytruncate): what was held of a line is gone with it.
      this.offset = 0;
      this.partial = [];
      this.partialBytes = 0;
    }
    const buffer = Buffer.alloc(CHUNK);
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK, this.offset);
      if (n <= 0) return;
      let start = 0;
      for (let i = buffer.indexOf(10, 0); i !== -1 && i < n; i = buffer.indexOf(10, i + 1)) {
        this.hold(buffer.subarray(start, i));
        const end = this.offset + i + 1;
        lines.push({ text: this.takePartial(), endOffset: end });
        start = i + 1;
      }
      this.hold(buffer.subarray(start, n));
      this.offset += n;
    }
  }

  private hold(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const room = this.maxLineBytes - this.partialBytes;
    if (room > 0) this.partial.push(Buffer.from(bytes.subarray(0, room)));
    this.partialBytes += bytes.length;
  }

  private takePartial(): string {
    let text = Buffer.concat(this.partial).toString("utf8");
    if (text.endsWith("\r")) text = text.slice(0, -1);
    this.partial = [];
    this.partialBytes = 0;
    return text;
  }

  private flushPartial(lines: TailLine[]): void {
    if (this.partialBytes === 0) return;
    lines.push({ text: this.takePartial(), endOffset: this.offset });
  }
}
