import { randomBytes } from 'node:crypto';
import { link, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

// Both writers put the whole text in a temporary file beside the target and then move it into
// place in one step, so a concurrent reader (another Jest worker) sees the old file or the new
// one, never half of one. The temporary file must be in the same folder: rename and link are only
// atomic within one filesystem.

/** Replaces `path` with `text` atomically, creating or overwriting it. */
export async function writeFileAtomic(path: string, text: string, mode: number): Promise<void> {
  const temporary = await writeTemporary(path, text, mode);
  try {
    await rename(temporary, path);
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

/**
 * Publishes `text` at `path` atomically unless a file is already there; returns whether it was
 * published. When two processes race, exactly one wins and the other can read the winner's file.
 */
export async function writeFileExclusive(path: string, text: string, mode: number): Promise<boolean> {
  const temporary = await writeTemporary(path, text, mode);
  try {
    await link(temporary, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // Some filesystems (FAT, some network and container mounts) have no hard links: a rename is
    // still atomic, only not exclusive, which costs at worst one process using a CA of its own.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
      await rename(temporary, path);
      return true;
    }
    throw error;
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

async function writeTemporary(path: string, text: string, mode: number): Promise<string> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    // The mode applies from creation, so a private key is never readable by others, not even
    // for the instant before a chmod.
    await writeFile(temporary, text, { mode, flag: 'wx' });
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  return temporary;
}
