import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

// Starts the sign-in example's app with the shared sink's address, and stops it at teardown.
export default async function startApp(): Promise<() => Promise<void>> {
  const app = spawn(process.execPath, [fileURLToPath(new URL('../sign-in/app.mjs', import.meta.url))], {
    env: {
      ...process.env,
      PORT: process.env.APP_PORT ?? '3000',
      SMTP_HOST: process.env.MAILHOLE_HOST,
      SMTP_PORT: process.env.MAILHOLE_PORT,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(app.stdout, 'data')) as [Buffer];
  if (!line.toString().startsWith('app on ')) throw new Error(`the app did not start: ${line}`);
  return async () => {
    app.kill();
    await once(app, 'exit');
  };
}
