import { mkdir, readFile, stat } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, writeFileExclusive } from './atomic-file.js';

/**
 * The folder `mailhole` suggests for `tls.cacheDir`: one per OS user, so two users on a shared
 * machine never share (or fight over) a CA key.
 *
 * @example const certificate = await testCertificate({ cacheDir: defaultCacheDir() });
 */
export function defaultCacheDir(): string {
  return join(tmpdir(), `mailhole-ca-${currentUser()}`);
}

function currentUser(): string {
  const uid = process.getuid?.();
  if (uid !== undefined) return String(uid);
  try {
    // Windows has no uid; the account name is unique per machine, but may hold characters that
    // do not belong in a folder name.
    return userInfo().username.replace(/[^A-Za-z0-9._-]/g, '_') || 'user';
  } catch {
    return 'user';
  }
}

/** A filesystem error about `tls.cacheDir`, worded for the person who set that option. */
export class CacheDirError extends Error {
  constructor(dir: string, doing: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? String(cause);
    super(
      `mailhole could not ${doing} in tls.cacheDir (${dir}): ${code}. ` +
        'Point tls.cacheDir at a folder this user can read and write, or leave it unset to keep ' +
        'the test certificates in memory.',
      { cause },
    );
    this.name = 'CacheDirError';
  }
}

/** Creates the folder (private to this user) if needed and refuses one another user controls. */
export async function openCacheDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    // EEXIST: a file of that name; the check below says so more plainly than the error code.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new CacheDirError(dir, 'create the certificate folder', error);
    }
  }
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(dir);
  } catch (error) {
    throw new CacheDirError(dir, 'read the certificate folder', error);
  }
  if (!info.isDirectory()) {
    throw new Error(
      `mailhole's tls.cacheDir (${dir}) is a file, not a folder. Point tls.cacheDir at a folder, ` +
        'or leave it unset to keep the test certificates in memory.',
    );
  }
  const uid = process.getuid?.();
  // Whoever owns the folder can swap in a CA whose key they know. root may legitimately use
  // folders it does not own (bind-mounted CI workspaces), so it is trusted to know better.
  if (uid !== undefined && uid !== 0 && info.uid !== uid) {
    throw new Error(
      `mailhole's tls.cacheDir (${dir}) belongs to another user (uid ${info.uid}, this process runs ` +
        `as uid ${uid}), who could plant a CA in it. Point tls.cacheDir at a folder you own.`,
    );
  }
}

/** The file's text, or `undefined` when there is no such file yet. */
export async function readCacheFile(dir: string, name: string): Promise<string | undefined> {
  try {
    return await readFile(join(dir, name), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CacheDirError(dir, `read ${name}`, error);
  }
}

/** Every file here holds a private key, so only its owner may read it. */
const PRIVATE = 0o600;

/** Publishes `text` as `name` unless the file exists already; returns whether it was published. */
export async function createCacheFile(dir: string, name: string, text: string): Promise<boolean> {
  try {
    return await writeFileExclusive(join(dir, name), text, PRIVATE);
  } catch (error) {
    throw new CacheDirError(dir, `write ${name}`, error);
  }
}

/** Replaces `name` with `text`; readers see the old file or the new one, never half of one. */
export async function replaceCacheFile(dir: string, name: string, text: string): Promise<void> {
  try {
    await writeFileAtomic(join(dir, name), text, PRIVATE);
  } catch (error) {
    throw new CacheDirError(dir, `write ${name}`, error);
  }
}
