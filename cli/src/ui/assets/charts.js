// The run page's drawings, as SVG elements: the lineage graph (laid out by the server), the
// memory timeline against the budget, and per-partition task times.
'use strict';

/** Cut a label to `n` characters (the full text is in the box's tooltip). */
function cut(text, n) {
  return text.length > n ? text.slice(0, n - 1) + '…' : text;
}

/** The lineage graph: one `g.node` per step, edges parent → child. */
function drawLineage(layout, steps) {
  const w = layout.node_w, h = layout.node_h;
  const svg = svgEl('svg', {
    id: 'lineage-svg', class: 'lineage', width: layout.width, height: layout.height,
    viewBox: '0 0 ' + layout.width + ' ' + layout.height, role: 'img',
    'aria-label': 'lineage graph of ' + steps.length + ' steps',
  });
  const edges = svgEl('g', { class: 'edges' });
  for (const [from, to] of layout.edges) {
    const a = layout.nodes[from], b = layout.nodes[to];
    const x1 = a.x + w / 2, y1 = a.y + h, x2 = b.x + w / 2, y2 = b.y;
    const mid = (y1 + y2) / 2;
    edges.append(svgEl('path', {
      class: 'edge', d: `M${x1},${y1} C${x1},${mid} ${x2},${mid} ${x2},${y2}`,
    }));
  }
  svg.append(edges);
  for (const n of layout.nodes) {
    if (n.row === null) {
      svg.append(svgEl('g', { class: 'earlier', transform: `translate(${n.x},${n.y})` },
        svgEl('rect', { width: w, height: h, rx: 6 }),
        svgEl('text', { x: 8, y: 18 }, 'earlier steps'),
        svgEl('text', { x: 8, y: 34, class: 'sub' }, '(folded in the report)')));
      continue;
    }
    const s = steps[n.row];
    const checkpoint = s.checkpoint !== null || s.policy === 'checkpoint';
    const g = svgEl('g', {
      class: 'node ' + s.status + (checkpoint ? ' checkpoint' : ''),
      'data-seq': s.seq, 'data-status': s.status, transform: `translate(${n.x},${n.y})`,
    });
    g.append(svgEl('title', {}, '#' + s.seq + ' ' + s.name + '\n' + s.status + ': ' + s.reason));
    if (checkpoint) {
      g.append(svgEl('rect', { class: 'ring', x: -3, y: -3, width: w + 6, height: h + 6 }));
    }
    g.append(svgEl('rect', { class: 'box', width: w, height: h, rx: 6 }));
    g.append(svgEl('text', { x: 8, y: 18, class: 'name' }, cut('#' + s.seq + ' ' + s.name, 26)));
    const sub = [s.status];
    if (s.policy !== 'memory-and-disk') sub.push(s.policy);
    if (s.partitions > 1) sub.push(s.partitions + ' partitions');
    g.append(svgEl('text', { x: 8, y: 34, class: 'sub' }, cut(sub.join(' · '), 30)));
    svg.append(g);
  }
  return svg;
}

/** Tracked bytes and RSS over time against the budget; spills marked on the time axis. */
function drawMemory(samples, budget, events, endT) {
  const W = 960, H = 240, L = 70, R = 16, T = 14, B = 30;
  const top = Math.max(budget, maxOf(samples, s => Math.max(s.tracked_bytes, s.rss_bytes)), 1) * 1.08;
  const tEnd = Math.max(endT || 0, maxOf(samples, s => s.t), 1e-3);
  const x = t => L + (W - L - R) * (t / tEnd);
  const y = b => T + (H - T - B) * (1 - b / top);
  const svg = svgEl('svg', {
    id: 'memory-svg', class: 'chart memory', viewBox: `0 0 ${W} ${H}`,
    role: 'img', 'aria-label': 'memory over time',
  });
  svg.append(svgEl('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }));
  svg.append(svgEl('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }));
  for (const frac of [0, 0.25, 0.5, 0.75, 1]) {
    const b = top * frac;
    svg.append(svgEl('text', { x: L - 6, y: y(b) + 4, 'text-anchor': 'end' }, bytes(Math.round(b))));
    svg.append(svgEl('text', { x: x(tEnd * frac), y: H - 10, 'text-anchor': 'middle' }, secs(tEnd * frac)));
  }
  const line = (cls, pick) => {
    const pts = thin(samples, 1200).map(s => x(s.t).toFixed(1) + ',' + y(pick(s)).toFixed(1));
    return svgEl('polyline', { class: cls, points: pts.join(' ') });
  };
  if (samples.length) {
    svg.append(line('rss', s => s.rss_bytes));
    svg.append(line('tracked', s => s.tracked_bytes));
  }
  svg.append(svgEl('line', { class: 'budget', x1: L, y1: y(budget), x2: W - R, y2: y(budget) }));
  svg.append(svgEl('text', { x: W - R - 4, y: y(budget) - 4, 'text-anchor': 'end' }, 'budget ' + bytes(budget)));
  const spills = (events || []).filter(e => e.kind === 'spill');
  for (const e of spills.slice(0, 2000)) {
    svg.append(svgEl('line', { class: 'spill', x1: x(e.t), y1: H - B, x2: x(e.t), y2: H - B - 8 },
      svgEl('title', {}, 'spill ' + e.step + ' ' + bytes(e.bytes))));
  }
  const legend = svgEl('g', { transform: `translate(${L + 10},${T + 4})` });
  legend.append(svgEl('text', { x: 0, y: 8, class: 'l-tracked' }, '— tracked'),
    svgEl('text', { x: 80, y: 8, class: 'l-rss' }, '— RSS'),
    svgEl('text', { x: 140, y: 8, class: 'l-spill' }, '| spill (' + spills.length + ')'),
    svgEl('text', { x: 240, y: 8, class: 'l-budget' }, '- - budget'));
  svg.append(legend);
  return svg;
}

/** The largest `f(item)` (0 for none), without spreading a long array into arguments. */
function maxOf(items, f) {
  let m = 0;
  for (const i of items) m = Math.max(m, f(i));
  return m;
}

/** At most `n` samples, keeping each stretch's highest one. */
function thin(samples, n) {
  if (samples.length <= n) return samples;
  const step = samples.length / n, out = [];
  for (let i = 0; i < n; i++) {
    const part = samples.slice(Math.floor(i * step), Math.floor((i + 1) * step));
    out.push(part.reduce((a, b) => (b.tracked_bytes > a.tracked_bytes ? b : a)));
  }
  return out;
}

/** A strip of bars, one per partition, the slowest in red. */
function drawStrip(times) {
  const W = Math.min(480, Math.max(60, times.length * 12)), H = 28;
  const max = Math.max(maxOf(times, t => t), 1e-9), bw = W / times.length;
  const svg = svgEl('svg', { class: 'chart strip', width: W, height: H, viewBox: `0 0 ${W} ${H}` });
  times.forEach((t, i) => {
    const h = Math.max(1, (H - 2) * (t / max));
    svg.append(svgEl('rect', {
      class: t === max ? 'bar slow' : 'bar', x: i * bw + 0.5, y: H - h, width: Math.max(1, bw - 1), height: h,
    }, svgEl('title', {}, 'partition ' + i + ': ' + secs(t))));
  });
  return svg;
}
