// The runs page: every run of the directory, newest first, filterable by status; refreshed
// while a run is going on.
'use strict';

const statusFilter = new URLSearchParams(location.search).get('status') || '';

for (const a of document.querySelectorAll('.filters a')) {
  if (a.dataset.status === statusFilter) a.classList.add('active');
}

function runRow(r) {
  const link = el('a', { href: '/runs/' + encodeURIComponent(r.id) }, r.id);
  let memory = '–';
  if (r.budget_bytes) {
    const peak = r.tracked_peak_bytes || 0;
    memory = el('span', {},
      el('meter', { min: 0, max: r.budget_bytes, value: peak, high: r.budget_bytes * 0.9 }),
      ' ' + bytes(peak) + ' / ' + bytes(r.budget_bytes));
  }
  let status = badge(r.status);
  if (r.status === 'running' && r.tasks_planned) {
    status = el('span', {}, badge(r.status), ' ' + r.tasks_done + '/' + r.tasks_planned);
  }
  const row = el('tr', { 'data-status': r.status },
    el('td', { class: 'mono' }, link),
    el('td', {}, r.pipeline ?? '–'),
    el('td', {}, status),
    el('td', {}, r.started_at ?? '–'),
    el('td', { class: 'num' }, secs(r.seconds)),
    el('td', { class: 'num' }, r.steps_executed ?? '–'),
    el('td', { class: 'num' }, r.steps_reused ?? '–'),
    el('td', { class: 'num' }, r.steps_failed ?? '–'),
    el('td', {}, memory));
  if (r.problem && r.status !== 'running') row.title = r.problem;
  return row;
}

async function refresh() {
  let runs;
  try {
    const q = statusFilter ? '?status=' + encodeURIComponent(statusFilter) : '';
    runs = await getJson('/api/runs' + q);
  } catch (e) {
    message('cannot load the runs: ' + e.message, true);
    setTimeout(refresh, 5000);
    return;
  }
  const body = document.querySelector('#runs tbody');
  body.replaceChildren(...runs.map(runRow));
  message(runs.length ? '' : (statusFilter ? 'no ' + statusFilter + ' runs' :
    'no runs yet: run a pipeline with this checkpoint directory'), false);
  // Faster while a run is going on; slower otherwise, to see new runs appear.
  setTimeout(refresh, runs.some(r => r.status === 'running') ? 1000 : 5000);
}

refresh();
