import type * as X509 from '@peculiar/x509';

export type X509Module = typeof X509;

let loading: Promise<X509Module> | undefined;

/**
 * Loads `@peculiar/x509` on first need only: it costs ~90 ms to load, and a sink that runs plain
 * SMTP, or that finds its certificates in `tls.cacheDir`, never signs anything.
 */
export function loadX509(): Promise<X509Module> {
  loading ??= importWithReflectShim().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

const metadataMethods = ['getMetadata', 'getOwnMetadata', 'defineMetadata'] as const;

/**
 * `@peculiar/x509` registers its algorithms through tsyringe, which refuses to load unless a
 * Reflect metadata polyfill (reflect-metadata) is installed, and reads that metadata only while
 * the library's classes are being defined. Rather than add a polyfill that would change `Reflect`
 * for the whole test process, we lend stubs for the duration of the import and take them back,
 * so the host process sees `Reflect` exactly as it was.
 */
async function importWithReflectShim(): Promise<X509Module> {
  const reflect = Reflect as unknown as Record<string, unknown>;
  if (typeof reflect.getMetadata === 'function') return import('@peculiar/x509');

  const lent = metadataMethods.filter((name) => !(name in reflect));
  for (const name of lent) {
    // No metadata is recorded: tsyringe then resolves every x509 algorithm with no constructor
    // arguments, which is how they are all declared.
    reflect[name] = () => undefined;
  }
  try {
    return await import('@peculiar/x509');
  } finally {
    for (const name of lent) delete reflect[name];
  }
}
