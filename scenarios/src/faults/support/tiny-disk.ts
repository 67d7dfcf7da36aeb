// A small filesystem of the test's own (tmpfs), and a filler file that leaves only a little of it
// free, so a gateway's outbox on it runs out of space for real (SQLITE_FULL from the kernel's
// ENOSPC), and gets it back when the filler is deleted. Mounting needs root.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface TinyDisk {
  readonly dir: string;
  /** Bytes still free for an unprivileged writer. */
  free(): number;
  /** Writes a filler file that leaves about `leaveBytes` free. */
  fill(leaveBytes: number): void;
  /** Deletes the filler file. */
  release(): void;
  unmount(): void;
}

export function mountTinyDisk(dir: string, sizeBytes: number): TinyDisk {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'the fault suite needs root: the disk-full test mounts a small tmpfs for the gateway outbox (`mount -t tmpfs`). Run `npm run test:faults` as root, as CI does.',
    );
  }
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir]);
  const filler = join(dir, 'filler');
  const free = () => {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  };
  return {
    dir,
    free,
    fill(leaveBytes) {
      const fd = openSync(filler, 'w');
      try {
        const chunk = Buffer.alloc(64 * 1024);
        for (let left = free() - leaveBytes; left > 0; ) left -= writeSync(fd, chunk, 0, Math.min(chunk.length, left));
      } finally {
        closeSync(fd);
      }
    },
    release: () => rmSync(filler, { force: true }),
    unmount: () => execFileSync('umount', [dir]),
  };
}
