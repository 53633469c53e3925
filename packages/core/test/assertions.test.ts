import { connectSink, type Sink, type StartOptions, startSink } from '@mailhole/core';
import { checkAccepted, checkReceive, checkReceivedMailTo, type ExpectMatcherContext } from '@mailhole/core/adapter';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';

const sinks: Sink[] = [];
const transports: Array<{ close(): void }> = [];

afterEach(async () => {
  for (const transport of transports.splice(0)) transport.close();
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

async function sinkForTest(options: StartOptions = {}): Promise<Sink> {
  const sink = await startSink(options);
  sinks.push(sink);
  return sink;
}

function send(target: Sink, mail: SendMailOptions = {}) {
  const transport = nodemailer.createTransport({ host: target.host, port: target.port, secure: false });
  transports.push(transport);
  return transport.sendMail({ from: 'app@example.test', to: 'ada@example.test', text: 'hello', ...mail });
}

// Stands in for Jest's and Vitest's matcher `this`, recording what the checks ask of matcherHint.
function matcherContext(isNot: boolean): ExpectMatcherContext & { hints: unknown[][] } {
  const hints: unknown[][] = [];
  return {
    isNot,
    hints,
    utils: {
      matcherHint(name, received, expected, options) {
        hints.push([name, received, expected, options]);
        return `${options?.isNot ? 'not.' : ''}${name}(${expected})`;
      },
    },
  };
}

describe('checkAccepted', () => {
  it('passes on a sink that accepted exactly the expected count', async () => {
    const sink = await sinkForTest();
    await send(sink);

    const result = checkAccepted(sink, 1);

    expect(result).not.toBeInstanceOf(Promise);
    expect(result).toMatchObject({ pass: true });
  });

  it('fails with both counts followed by what the sink saw', async () => {
    const sink = await sinkForTest();
    await send(sink);

    const result = await checkAccepted(sink, 2);

    expect(result.pass).toBe(false);
    expect(result.message()).toBe(`Expected 2 accepted deliveries, received 1.\n\n${sink.describe()}`);
  });

  it('counts only the deliveries of a view', async () => {
    const sink = await sinkForTest();
    await send(sink);
    const view = sink.view();
    await send(sink, { to: 'bob@example.test' });

    expect(await checkAccepted(view, 1)).toMatchObject({ pass: true });
    expect(await checkAccepted(sink, 2)).toMatchObject({ pass: true });
  });

  it('says the sink did accept that many, for a negated assertion that passes', async () => {
    const sink = await sinkForTest();
    await send(sink);

    const result = await checkAccepted(sink, 1);

    expect(result.message()).toContain('Expected the sink not to have accepted 1 delivery, but it did.');
  });

  it('heads the message with the matcher hint, passing the negation on', async () => {
    const sink = await sinkForTest();
    const matcher = matcherContext(true);

    const result = await checkAccepted(sink, 0, { matcher });

    expect(matcher.hints).toEqual([['toHaveAccepted', 'mailhole', '0', { isNot: true }]]);
    expect(result.message()).toMatch(
      /^not\.toHaveAccepted\(0\)\n\nExpected the sink not to have accepted 0 deliveries/,
    );
  });

  it('reads a remote sink asynchronously', async () => {
    const sink = await sinkForTest({ api: true });
    const remote = await connectSink(sink.apiUrl as string);
    await send(sink);

    const result = checkAccepted(remote, 1);

    expect(result).toBeInstanceOf(Promise);
    const answer = await result;
    expect(answer.pass).toBe(true);
    expect(answer.message()).toContain('The sink saw 1 connection(s), 1 transaction(s), 1 accepted');
  });

  it('refuses something that is not a sink, naming what it expected', () => {
    expect(() => checkAccepted({ port: 2525 }, 1)).toThrow(
      new TypeError(
        'toHaveAccepted: expected a mailhole sink, view or remote sink (with accepted, deliveries, waitFor and describe), got an object with keys port',
      ),
    );
  });

  it('names the sources the caller gives when refusing something else', () => {
    expect(() => checkAccepted(null, 1, { sources: 'sink or the mailhole fixture' })).toThrow(
      'toHaveAccepted: expected a mailhole sink or the mailhole fixture, got null',
    );
  });

  it('refuses a count that is not a whole number', async () => {
    const sink = await sinkForTest();

    expect(() => checkAccepted(sink, 1.5)).toThrow(
      new RangeError('toHaveAccepted: the expected count must be a whole number >= 0, got 1.5'),
    );
  });
});

describe('checkReceivedMailTo', () => {
  it('passes when an accepted delivery went to the address, in any case', async () => {
    const sink = await sinkForTest();
    await send(sink, { to: ['grace@example.test', 'Ada@Example.test'] });

    expect(await checkReceivedMailTo(sink, 'ADA@example.TEST')).toMatchObject({ pass: true });
  });

  it('fails naming the recipients that were seen', async () => {
    const sink = await sinkForTest();
    await send(sink, { to: 'grace@example.test' });

    const result = await checkReceivedMailTo(sink, 'alan@example.test');

    expect(result.pass).toBe(false);
    expect(result.message()).toBe(
      `Expected a delivery to <alan@example.test>, but none arrived (recipients seen: grace@example.test).\n\n${sink.describe()}`,
    );
  });

  it('says no delivery had a recipient when nothing was accepted', async () => {
    const sink = await sinkForTest();

    const result = await checkReceivedMailTo(sink, 'alan@example.test');

    expect(result.message()).toContain('but none arrived (no accepted delivery has a recipient)');
  });

  it('counts the deliveries to the address, for a negated assertion that passes', async () => {
    const sink = await sinkForTest();
    await send(sink);
    await send(sink);

    const result = await checkReceivedMailTo(sink, 'ada@example.test', { matcher: matcherContext(true) });

    expect(result.message()).toContain(
      'not.toHaveReceivedMailTo("ada@example.test")\n\nExpected no delivery to <ada@example.test>, but 2 deliveries went to it.',
    );
  });

  it('reads a remote view asynchronously', async () => {
    const sink = await sinkForTest({ api: true });
    const remote = await connectSink(sink.apiUrl as string);
    await send(sink, { to: 'grace@example.test' });
    const view = await remote.view();
    await send(sink, { to: 'alan@example.test' });

    const result = checkReceivedMailTo(view, 'grace@example.test');

    expect(result).toBeInstanceOf(Promise);
    expect((await result).message()).toContain('none arrived (recipients seen: alan@example.test)');
  });

  it('refuses an empty address', async () => {
    const sink = await sinkForTest();

    expect(() => checkReceivedMailTo(sink, '')).toThrow(
      new TypeError(
        'toHaveReceivedMailTo: the expected recipient must be an address such as "ada@example.test", got ""',
      ),
    );
  });
});

describe('checkReceive', () => {
  it('resolves once the sink has accepted the count', async () => {
    const sink = await sinkForTest();
    const waiting = checkReceive(sink, 2, { timeout: 15_000 });
    await send(sink);
    await send(sink);

    const result = await waiting;

    expect(result.pass).toBe(true);
    expect(result.message()).toBe(
      `Expected the sink not to receive 2 deliveries within 15000 ms, but it did.\n\n${sink.describe()}`,
    );
  });

  it('fails after the timeout saying what did arrive', async () => {
    const sink = await sinkForTest();
    await send(sink);

    const result = await checkReceive(sink, 2, { timeout: 200 }, { matcher: matcherContext(false) });

    expect(result.pass).toBe(false);
    expect(result.message()).toMatch(/^toReceive\(2\)\n\nwaitFor timed out after 200 ms with 1 of 2 deliveries\./);
    expect(result.message()).toMatch(/#1 accepted from <app@example\.test> to ada@example\.test/);
  });

  it('waits on a remote sink too', async () => {
    const sink = await sinkForTest({ api: true });
    const remote = await connectSink(sink.apiUrl as string);
    const waiting = checkReceive(remote, 1, { timeout: 15_000 });
    await send(sink);

    expect(await waiting).toMatchObject({ pass: true });
  });

  it('rejects, rather than fails, when the sink closes during the wait', async () => {
    const sink = await startSink();
    const waiting = checkReceive(sink, 1, { timeout: 15_000 });

    await sink.close();

    await expect(waiting).rejects.toThrow('waitFor: the sink was closed before the wait was satisfied');
  });

  it('rejects a negative timeout, naming the option', async () => {
    const sink = await sinkForTest();

    await expect(checkReceive(sink, 1, { timeout: -1 })).rejects.toThrow(
      new RangeError('toReceive: option "timeout" must be milliseconds >= 0, got -1'),
    );
  });
});
