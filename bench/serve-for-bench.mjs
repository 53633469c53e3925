// A sink serving like `mailhole serve` would, for load generators such as smtp-source.
// Prints `listening <port>` once bound; on SIGINT/SIGTERM prints the stats as JSON and exits.
// Usage: node bench/serve-for-bench.mjs [--port N] [--capture count|envelope|full]
import { startSink } from '@mailhole/core';

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const sink = await startSink({
  port: Number(option('port') ?? 0),
  ...(option('capture') ? { capture: option('capture') } : {}),
});
console.log(`listening ${sink.port}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  const stats = sink.stats();
  await sink.close();
  console.log(JSON.stringify(stats));
};
// A second Ctrl-C while closing must not print the stats twice.
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
