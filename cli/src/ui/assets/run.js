// A run's page: summary, live progress while it runs, lineage, memory, events, steps and
// partition task times. Polls `/api/runs/{id}` every second while the run is going on.
'use strict';

const runId = decodeURIComponent(location.pathname.split('/').pop());
document.getElementById('run-id').textContent = runId;
document.title = 'stepstone · ' + runId;

function dl(pairs) {
  const d = el('dl');
  for (const [k, v] of pairs) d.append(el('dt', {}, k), el('dd', {}, v));
  return d;
}

function renderSummary(v) {
  const r = v.report, l = v.live;
  const pairs = [['status', badge(v.status)], ['directory', v.dir]];
  if (r) {
    pairs.push(['pipeline', r.pipeline], ['started', r.started_at + ' (' + secs(r.seconds) + ')'],
      ['steps', r.totals.steps_executed + ' executed, ' + r.totals.steps_reused + ' reused, ' +
        r.totals.steps_skipped + ' skipped, ' + r.totals.steps_failed + ' failed'],
      ['memory', el('span', {},
        el('meter', { min: 0, max: r.budget_bytes, value: r.tracked_peak_bytes, high: r.budget_bytes * 0.9 }),
        ' tracked peak ' + bytes(r.tracked_peak_bytes) + ' of budget ' + bytes(r.budget_bytes) +
        ', RSS peak ' + bytes(r.rss_peak_bytes))],
      ['objects', r.totals.checkpoints_written + ' checkpoints (' + bytes(r.totals.checkpoint_bytes) +
        '), ' + r.totals.spills_written + ' spills (' + bytes(r.totals.spilled_bytes) + '), ' +
        bytes(r.totals.reloaded_bytes) + ' reloaded'],
      ['config', 'jobs ' + r.config.jobs + ', fresh ' + r.config.fresh + ', checkpoint dir ' + r.config.checkpoint_dir]);
    if (r.error) pairs.push(['error', el('span', { class: 'error-text' }, r.error)]);
  } else if (l) {
    pairs.push(['pipeline', l.pipeline], ['started', l.started_at]);
  }
  if (v.problem && !r) pairs.push(['report', v.problem]);
  document.getElementById('summary').replaceChildren(dl(pairs));
}

function renderLive(v) {
  const box = document.getElementById('live');
  const l = v.live;
  box.hidden = !l || v.report !== null;
  if (box.hidden) return;
  const age = Math.max(0, (Date.now() - l.updated_unix_ms) / 1000);
  const recent = el('table', { class: 'grid' },
    el('thead', {}, el('tr', {}, el('th', {}, 'recent task'), el('th', { class: 'num' }, 'partition'),
      el('th', { class: 'num' }, 'seconds'))),
    el('tbody', {}, ...l.recent_tasks.slice().reverse().map(t =>
      el('tr', {}, el('td', {}, '#' + t.seq + ' ' + t.step), el('td', { class: 'num' }, t.partition),
        el('td', { class: 'num' }, secs(t.seconds))))));
  document.getElementById('live-body').replaceChildren(
    el('p', { id: 'live-progress', 'data-done': l.tasks_done, 'data-planned': l.tasks_planned },
      el('progress', { max: Math.max(l.tasks_planned, 1), value: l.tasks_done }),
      ' ' + l.tasks_done + ' / ' + l.tasks_planned + ' tasks · now ',
      el('b', {}, l.current_step), ' · ' + secs(l.seconds) + ' in · updated ' + age.toFixed(0) + ' s ago'),
    el('p', {}, 'memory ' + bytes(l.tracked_bytes) + ' of ' + bytes(l.budget_bytes) + ' · RSS ' +
      bytes(l.rss_bytes) + ' · spilled ' + bytes(l.spilled_bytes)),
    recent);
}

function renderGraph(v) {
  const box = document.getElementById('graph');
  if (!v.layout) {
    box.replaceChildren(el('p', { class: 'message' }, 'the graph appears when the run has a report'));
    return;
  }
  box.replaceChildren(drawLineage(v.layout, v.report.steps));
}

function renderMemory(v) {
  const r = v.report, l = v.live;
  const chart = r ? drawMemory(r.timeline, r.budget_bytes, r.events, r.seconds)
    : l ? drawMemory(l.timeline, l.budget_bytes, [], l.seconds) : el('p', {}, 'no samples');
  document.getElementById('memory').replaceChildren(chart);
}

function renderEvents(v) {
  const items = v.notable.map(n => el('li', { 'data-kind': n.kind }, badge(n.kind), ' ',
    n.t !== null ? secs(n.t) + ' ' : '', n.step ? el('b', {}, n.step) : '',
    n.partition !== null ? ' partition ' + n.partition : '',
    n.location ? el('span', { class: 'mono' }, ' at ' + n.location) : '', ' — ' + n.detail));
  const r = v.report;
  if (r) {
    const counts = {};
    for (const e of r.events) counts[e.kind] = (counts[e.kind] || 0) + 1;
    const text = Object.entries(counts).map(([k, n]) => n + ' ' + k).join(', ');
    if (text) items.push(el('li', { class: 'message' }, 'memory traffic: ' + text));
  }
  if (!items.length) items.push(el('li', { class: 'message' }, 'nothing notable'));
  document.getElementById('events').replaceChildren(...items);
}

function stepRow(s) {
  const parts = s.partitions > 1 ? s.partitions_executed + ' / ' + s.partitions_reused + ' of ' + s.partitions
    : s.partitions_executed + ' / ' + s.partitions_reused;
  return el('tr', { 'data-seq': s.seq, 'data-status': s.status },
    el('td', { class: 'num' }, s.seq), el('td', {}, s.name), el('td', {}, badge(s.status)),
    el('td', { class: 'why' }, s.reason), el('td', { class: 'num' }, secs(s.seconds)),
    el('td', { class: 'num' }, bytes(s.output_bytes)), el('td', { class: 'num' }, bytes(s.spilled_bytes)),
    el('td', { class: 'num' }, bytes(s.reloaded_bytes)), el('td', { class: 'num' }, parts),
    el('td', { class: 'mono' }, s.checkpoint ?? ''));
}

function renderSteps(v) {
  const r = v.report;
  const rows = r ? r.steps.map(stepRow) : [];
  for (const f of r ? r.steps_folded : []) {
    rows.push(el('tr', { class: 'folded' }, el('td', { class: 'num' }, f.first_seq + '…' + f.last_seq),
      el('td', {}, f.count + ' × ' + f.name), el('td', {}, badge(f.status)),
      el('td', { class: 'why' }, 'folded past the report\'s row cap'), el('td', { class: 'num' }, secs(f.seconds)),
      el('td', { class: 'num' }, bytes(f.output_bytes)), el('td', { class: 'num' }, bytes(f.spilled_bytes)),
      el('td', { class: 'num' }, bytes(f.reloaded_bytes)), el('td', {}, ''), el('td', {}, '')));
  }
  document.querySelector('#steps tbody').replaceChildren(...rows);
}

function renderTasks(v) {
  const box = document.getElementById('tasks');
  if (!v.tasks || !v.report) {
    box.replaceChildren(el('p', { class: 'message' }, v.report ? 'no partitioned step ran' : 'when the run ends'));
    return;
  }
  const names = new Map(v.report.steps.map(s => [s.seq, s.name]));
  const bySeq = new Map();
  for (const t of v.tasks.tasks) {
    if (!bySeq.has(t.seq)) bySeq.set(t.seq, []);
    const times = bySeq.get(t.seq);
    times[t.partition] = (times[t.partition] || 0) + t.seconds;
  }
  const stats = [...bySeq.entries()].map(([seq, times]) => {
    const filled = Array.from(times, t => t || 0);
    const sorted = filled.slice().sort((a, b) => a - b);
    const max = sorted[sorted.length - 1], median = sorted[Math.floor(sorted.length / 2)];
    return { seq, times: filled, max, median, slowest: filled.indexOf(max) };
  }).sort((a, b) => b.max - a.max);
  const shown = stats.slice(0, 100);
  const table = el('table', { class: 'grid', id: 'task-table' },
    el('thead', {}, el('tr', {}, ...['step', 'partitions', 'median', 'slowest', 'slowest / median', 'per partition']
      .map(h => el('th', {}, h)))),
    el('tbody', {}, ...shown.map(s => el('tr', { 'data-seq': s.seq },
      el('td', {}, '#' + s.seq + ' ' + (names.get(s.seq) ?? '?')), el('td', { class: 'num' }, s.times.length),
      el('td', { class: 'num' }, secs(s.median)), el('td', { class: 'num' }, secs(s.max) + ' (#' + s.slowest + ')'),
      el('td', { class: 'num' }, s.median > 0 ? (s.max / s.median).toFixed(1) + '×' : '–'),
      el('td', {}, drawStrip(s.times))))));
  const note = stats.length > shown.length ? 'the ' + shown.length + ' slowest of ' + stats.length + ' partitioned steps' : '';
  box.replaceChildren(table, note ? el('p', { class: 'message' }, note) : '',
    v.tasks.dropped ? el('p', { class: 'message' }, v.tasks.dropped + ' later tasks not recorded') : '');
}

async function load() {
  let v;
  try {
    v = await getJson('/api/runs/' + encodeURIComponent(runId));
  } catch (e) {
    message('cannot load run ' + runId + ': ' + e.message, true);
    setTimeout(load, 3000);
    return;
  }
  message('', false);
  for (const render of [renderSummary, renderLive, renderGraph, renderMemory, renderEvents, renderSteps, renderTasks]) {
    try { render(v); } catch (e) { message('cannot draw part of the page: ' + e.message, true); }
  }
  document.body.dataset.status = v.status;
  if (v.status === 'running') setTimeout(load, 1000);
}

load();
