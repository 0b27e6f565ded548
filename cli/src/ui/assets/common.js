// Helpers shared by the pages. Report data only ever enters the DOM as text nodes or attribute
// values (never as markup): see `el` and `svgEl`.
'use strict';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An HTML element with attributes and children (strings become text nodes). */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  setAttrs(e, attrs);
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** An SVG element with attributes and children (strings become text nodes). */
function svgEl(tag, attrs, ...children) {
  const e = document.createElementNS(SVG_NS, tag);
  setAttrs(e, attrs);
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function setAttrs(e, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) throw new Error('no event attributes');
    e.setAttribute(k, String(v));
  }
}

/** Bytes in binary units, like the command line prints them. */
function bytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n, i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(1)) + ' ' + units[i];
}

/** Seconds as `0.123 s`, `12.3 s`, `4m 05s`. */
function secs(s) {
  if (s === null || s === undefined) return '–';
  if (s < 10) return s.toFixed(3) + ' s';
  if (s < 120) return s.toFixed(1) + ' s';
  const m = Math.floor(s / 60);
  return m + 'm ' + String(Math.round(s - 60 * m)).padStart(2, '0') + 's';
}

/** A status pill. */
function badge(status) {
  return el('span', { class: 'badge ' + status }, status);
}

/** Show a message (or hide it with ''). */
function message(text, isError) {
  const m = document.getElementById('message');
  m.textContent = text;
  m.className = isError ? 'message error' : 'message';
  m.hidden = text === '';
}

/** GET a JSON endpoint; throws with the server's text on an error status. */
async function getJson(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(r.status + ': ' + (await r.text()));
  return r.json();
}
