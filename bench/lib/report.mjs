// Turns the suite's JSON results into bench/results/latest.md: the targets first, then a table per scenario.
import { fmt } from './stats.mjs';

const find = (report, id) => report.scenarios.find((s) => s.id === id);
const resultOf = (scenario, id) => scenario?.results?.find((r) => r.id === id);
const mark = (ok) => (ok === undefined ? '–' : ok ? 'met' : 'not met');

/** The issue's targets, each with what this run measured. */
export function targets(report) {
  const rows = [];
  const reused = find(report, 'reused');
  const mh = resultOf(reused, 'mailhole');
  if (mh) {
    rows.push({
      target: 'Reused connections: mailhole ≥ 0.8x smtp-sink throughput',
      measured: `${fmt.x(mh.throughputVsReference)} (${fmt.rate(mh.perSecond)} vs ${fmt.rate(resultOf(reused, 'smtp-sink')?.perSecond)})`,
      ok: mh.throughputVsReference >= 0.8,
    });
  }
  const perTest = find(report, 'per-test');
  const fresh = resultOf(perTest, 'freshMailhole');
  const freshTls = resultOf(perTest, 'freshMailholeTls');
  if (fresh) {
    rows.push({
      target: 'Fresh sink + nodemailer send + close ≤ 1.3x the send to a running smtp-sink',
      measured: `${fmt.x(fresh.vsRunningSmtpSink)} (${fmt.ms(fresh.medianMs)} vs ${fmt.ms(perTest.floorMs)})`,
      ok: fresh.vsRunningSmtpSink <= 1.3,
    });
  }
  if (freshTls) {
    rows.push({
      target: 'The same with STARTTLS and verification on ≤ 3x',
      measured: `${fmt.x(freshTls.vsRunningSmtpSink)} (${fmt.ms(freshTls.medianMs)})`,
      ok: freshTls.vsRunningSmtpSink <= 3,
    });
  }
  const startClose = resultOf(find(report, 'start-close'), 'mailhole');
  if (startClose) {
    rows.push({
      target: 'Start + close of a sink without a client < 0.2 ms median',
      measured: `${fmt.ms(startClose.medianMs)} (smtp-server ${fmt.ms(resultOf(find(report, 'start-close'), 'smtpServer')?.medianMs)})`,
      ok: startClose.medianMs < 0.2,
    });
  }
  const count = find(report, 'count-memory');
  if (count?.samples) {
    const first = count.samples[0];
    const last = count.samples.at(-1);
    rows.push({
      target: `Counting-only memory flat over ${count.accepted?.toLocaleString('en-US')} messages`,
      measured: `RSS ${fmt.mb(first?.rssMB)} at ${first?.accepted?.toLocaleString('en-US')}, ${fmt.mb(last?.rssMB)} at ${last?.accepted?.toLocaleString('en-US')} (${fmt.mb(count.rssGrowthSecondHalfMB)} over the second half); count exact: ${count.exact ? 'yes' : 'NO'}`,
      // Flat: under 2 MB of growth over the second half, i.e. under 4 bytes a message at 1,000,000
      // (the first samples include V8 sizing its heap to the load).
      ok: count.exact && count.rssGrowthSecondHalfMB < 2,
    });
  }
  const idle = resultOf(find(report, 'idle'), 'mailhole');
  if (idle) {
    rows.push({
      target: 'Idle connection cost stated in KB',
      measured: `${fmt.kb(idle.rssKBPerConnection)} RSS, ${fmt.kb(idle.heapKBPerConnection)} heap per connection (smtp-server ${fmt.kb(resultOf(find(report, 'idle'), 'smtp-server')?.rssKBPerConnection)}, smtp-sink ${fmt.kb(resultOf(find(report, 'idle'), 'smtp-sink')?.rssKBPerConnection)})`,
      ok: true,
    });
  }
  const workers = find(report, 'workers');
  if (workers?.reused) {
    const two = workers.reused.results.find((r) => r.id === 'workers-2');
    rows.push({
      target: 'Workers mode scaling shown for 1 and 2 workers',
      measured: `2 workers: ${fmt.x(two?.throughputVsReference)} the throughput of 1 (reused connections), ${fmt.x(workers.pipelining?.results.find((r) => r.id === 'workers-2')?.throughputVsReference)} (pipelining)`,
      ok: true,
    });
  } else if (workers?.pending) {
    rows.push({
      target: 'Workers mode scaling shown for 1 and 2 workers',
      measured: `pending: ${workers.pending}`,
      ok: undefined,
    });
  }
  return rows;
}

function throughputTable(result) {
  const lines = [
    `| server | median time | ${result.unitName}s/s | vs ${result.reference} | server CPU per ${result.unitName} | of which user | CPU vs ${result.reference} | runs |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of result.results) {
    lines.push(
      `| ${r.label}${r.units !== undefined ? ` (${r.units.toLocaleString('en-US')} ${result.unitName}s)` : ''} | ${fmt.ms(r.medianMs)} | ${fmt.rate(r.perSecond).replace('/s', '')} | ${fmt.x(r.throughputVsReference)} | ${fmt.us(r.serverCpuUsPerUnit)} | ${fmt.us(r.serverUserCpuUsPerUnit)} | ${fmt.x(r.cpuVsReference)} | ${r.runs} |`,
    );
  }
  if (result.failures?.length > 0) {
    lines.push('', 'Failures:', ...result.failures.map((f) => `- ${f}`));
  }
  return lines;
}

function scenarioSection(s) {
  const lines = [`## ${s.title}`, ''];
  if (s.skipped) return [...lines, `Skipped: ${s.skipped}.`, ''];
  if (s.error) return [...lines, `Failed: ${s.error}`, ''];
  if (s.pending) return [...lines, `Pending: ${s.pending}`, ''];
  if (s.what) lines.push(s.what, '');
  if (s.loadAverage) lines.push(`Load average at start: ${s.loadAverage.join(', ')}; took ${s.seconds} s.`, '');
  if (s.id === 'per-test') {
    lines.push('| variant | median | p90 | vs running smtp-sink | rounds |', '| --- | ---: | ---: | ---: | ---: |');
    for (const r of s.results) {
      lines.push(
        `| ${r.id} | ${fmt.ms(r.medianMs)} | ${fmt.ms(r.p90Ms)} | ${fmt.x(r.vsRunningSmtpSink)} | ${r.rounds} |`,
      );
    }
  } else if (s.id === 'start-close') {
    lines.push('| server | median | p90 | rounds |', '| --- | ---: | ---: | ---: |');
    for (const r of s.results) lines.push(`| ${r.id} | ${fmt.ms(r.medianMs)} | ${fmt.ms(r.p90Ms)} | ${r.rounds} |`);
  } else if (s.id === 'idle') {
    lines.push(
      '| server | connections | RSS before | RSS after | RSS per connection | heap per connection |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const r of s.results) {
      lines.push(
        `| ${r.label} | ${r.connections} | ${fmt.mb(r.rssBeforeMB)} | ${fmt.mb(r.rssAfterMB)} | ${fmt.kb(r.rssKBPerConnection)} | ${Number.isFinite(r.heapKBPerConnection) ? fmt.kb(r.heapKBPerConnection) : 'n/a'} |`,
      );
    }
  } else if (s.id === 'count-memory') {
    lines.push(
      `${s.accepted?.toLocaleString('en-US')} accepted (exact: ${s.exact ? 'yes' : 'no'}) at ${fmt.rate(s.perSecond)}; after the run and a full GC: RSS ${fmt.mb(s.rssAfterGcMB)}, heap ${fmt.mb(s.heapAfterGcMB)}.`,
      '',
      '| accepted | RSS | V8 heap total | heap used | external |',
      '| ---: | ---: | ---: | ---: | ---: |',
    );
    for (const r of s.samples) {
      lines.push(
        `| ${r.accepted.toLocaleString('en-US')} | ${fmt.mb(r.rssMB)} | ${fmt.mb(r.heapTotalMB)} | ${fmt.mb(r.heapUsedMB)} | ${fmt.mb(r.externalMB)} |`,
      );
    }
  } else if (s.id === 'workers') {
    for (const key of ['reused', 'pipelining']) {
      if (!s[key]) continue;
      lines.push(
        `${key === 'reused' ? 'Reused connections (smtp-source)' : 'Pipelining client'}:`,
        '',
        ...throughputTable(s[key]),
        '',
      );
    }
  } else if (s.results) {
    lines.push(...throughputTable(s));
  }
  if (s.notes?.length > 0) lines.push('', ...s.notes.map((note) => `- ${note}`));
  lines.push('');
  return lines;
}

/** The whole results page. */
export function renderMarkdown(report) {
  const m = report.machine;
  const lines = [
    '# mailhole benchmark results',
    '',
    `Written by \`${report.mode === 'quick' ? 'node bench/run.mjs --quick' : 'pnpm bench'}\` (${report.mode} run, ${report.runs} runs per comparison, medians; servers alternate within each run). See [bench/README.md](../README.md) for the scenarios.`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, ${m.os}; Node ${m.node}; Postfix ${m.postfix ?? 'n/a'}; smtp-server ${m.smtpServer ?? 'n/a'}; nodemailer ${m.nodemailer ?? 'n/a'}. ${m.date}.`,
    `Load average at start: ${m.loadAverage.join(', ')}; at the end: ${report.loadAverageAtEnd?.join(', ')}. The suite took ${report.seconds} s.`,
    '',
  ];
  if (report.baseline) {
    lines.push(
      `"mailhole (baseline)" is the build of @mailhole/core in ${report.baseline}, run beside the current one.`,
      '',
    );
  }
  if (report.missing?.length > 0)
    lines.push('Missing (scenarios needing them were skipped):', ...report.missing.map((x) => `- ${x}`), '');
  const rows = targets(report);
  if (rows.length > 0) {
    lines.push('## Targets (issue #8)', '', '| target | this run | |', '| --- | --- | --- |');
    for (const r of rows) lines.push(`| ${r.target} | ${r.measured} | ${mark(r.ok)} |`);
    lines.push('');
  }
  lines.push(
    'Throughput tables: the median wall time of the client run; "server CPU" is the server process\'s user + system time during the run (from /proc), which is much less disturbed by other load on the machine than wall time; "of which user" is the part spent in the process itself (for Node: JavaScript and the runtime), the rest is the kernel moving its bytes.',
    '',
  );
  for (const s of report.scenarios) lines.push(...scenarioSection(s));
  return `${lines.join('\n')}\n`;
}
