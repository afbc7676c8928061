// The neighbourhood graph: a force-directed layout (springs along edges, repulsion
// between nodes, started from rings around the centre so that it is the same every
// time) drawn as SVG, with pan, zoom, keyboard focus and SVG export.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Edges found by name alone are guesses; they are drawn dashed. */
export function isGuess(resolution) {
  return resolution === 'unique_name' || resolution === 'ambiguous';
}

function hash(s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0) / 4294967296;
}

/**
 * Positions for `nodes` (objects with `id`) joined by `edges` (`src`, `dst`), the
 * node `center` in the middle. Returns a Map from id to {x, y}.
 */
export function layout(nodes, edges, center) {
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const adj = nodes.map(() => []);
  const links = [];
  for (const e of edges) {
    const a = index.get(e.src);
    const b = index.get(e.dst);
    if (a === undefined || b === undefined || a === b) continue;
    adj[a].push(b);
    adj[b].push(a);
    links.push([a, b]);
  }
  // Rings by distance from the centre.
  const depth = new Array(nodes.length).fill(-1);
  const start = index.get(center) ?? 0;
  depth[start] = 0;
  const queue = [start];
  for (let q = 0; q < queue.length; q++) {
    for (const m of adj[queue[q]]) {
      if (depth[m] < 0) {
        depth[m] = depth[queue[q]] + 1;
        queue.push(m);
      }
    }
  }
  const maxDepth = Math.max(1, ...depth);
  const ring = new Map();
  nodes.forEach((n, i) => {
    const d = depth[i] < 0 ? maxDepth + 1 : depth[i];
    if (!ring.has(d)) ring.set(d, []);
    ring.get(d).push(i);
  });
  const x = new Float64Array(nodes.length);
  const y = new Float64Array(nodes.length);
  for (const [d, members] of ring) {
    members.forEach((i, k) => {
      const angle = (2 * Math.PI * (k + hash(nodes[i].id) * 0.5)) / members.length;
      x[i] = Math.cos(angle) * d * 120;
      y[i] = Math.sin(angle) * d * 120;
    });
  }
  const n = nodes.length;
  const iterations = n > 300 ? 120 : n > 100 ? 200 : 300;
  // Larger graphs are packed tighter, so that a few hundred definitions still fit a
  // screen at a size where labels read (they keep their size on screen, see draw).
  const f = Math.min(1, Math.max(0.35, Math.sqrt(80 / Math.max(n, 1))));
  const spring = 90 * f;
  const repulse = 9000 * f * f;
  let temperature = 40;
  const dx = new Float64Array(n);
  const dy = new Float64Array(n);
  for (let it = 0; it < iterations; it++) {
    dx.fill(0);
    dy.fill(0);
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let ex = x[i] - x[j];
        let ey = y[i] - y[j];
        let d2 = ex * ex + ey * ey;
        if (d2 < 0.01) {
          ex = hash(nodes[i].id + j) - 0.5;
          ey = hash(nodes[j].id + i) - 0.5;
          d2 = 0.01;
        }
        const f = repulse / d2;
        dx[i] += ex * f;
        dy[i] += ey * f;
        dx[j] -= ex * f;
        dy[j] -= ey * f;
      }
    }
    for (const [a, b] of links) {
      const ex = x[a] - x[b];
      const ey = y[a] - y[b];
      const d = Math.sqrt(ex * ex + ey * ey) || 0.1;
      const f = (d - spring) / d * 0.5;
      dx[a] -= ex * f;
      dy[a] -= ey * f;
      dx[b] += ex * f;
      dy[b] += ey * f;
    }
    for (let i = 0; i < n; i++) {
      dx[i] -= x[i] * 0.01;
      dy[i] -= y[i] * 0.01;
      const len = Math.sqrt(dx[i] * dx[i] + dy[i] * dy[i]) || 1;
      const step = Math.min(len, temperature);
      x[i] += (dx[i] / len) * step;
      y[i] += (dy[i] / len) * step;
    }
    x[start] = 0;
    y[start] = 0;
    temperature = Math.max(1, temperature * 0.985);
  }
  const out = new Map();
  nodes.forEach((node, i) => out.set(node.id, { x: x[i], y: y[i], depth: depth[i] }));
  return out;
}

function el(name, attrs = {}, parent) {
  const e = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (parent) parent.append(e);
  return e;
}

/**
 * Draws the graph into `container`; `onOpen(node)` is called when a node is clicked or
 * chosen with Enter. Returns the SVG element.
 */
export function drawGraph(container, nodes, edges, center, onOpen) {
  const positions = layout(nodes, edges, center);
  const xs = [...positions.values()].map((p) => p.x);
  const ys = [...positions.values()].map((p) => p.y);
  const pad = 80;
  const minX = Math.min(...xs) - pad;
  const minY = Math.min(...ys) - pad;
  const width = Math.max(...xs) - minX + pad;
  const height = Math.max(...ys) - minY + pad;
  const svg = el('svg', {
    xmlns: SVG_NS,
    class: 'graph',
    viewBox: `${minX} ${minY} ${width} ${height}`,
    role: 'img',
    'aria-label': `Graph of ${nodes.length} definitions and ${edges.length} edges`,
  });
  const defs = el('defs', {}, svg);
  for (const kind of ['certain', 'guess']) {
    const marker = el('marker', {
      id: 'arrow-' + kind, viewBox: '0 0 10 10', refX: 18, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse',
    }, defs);
    el('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrow-' + kind }, marker);
  }
  const edgeLayer = el('g', { class: 'edges' }, svg);
  for (const e of edges) {
    const a = positions.get(e.src);
    const b = positions.get(e.dst);
    if (!a || !b) continue;
    const kind = isGuess(e.resolution) ? 'guess' : 'certain';
    const line = el('line', {
      x1: a.x, y1: a.y, x2: b.x, y2: b.y,
      class: `edge edge-${e.kind} ${kind}`,
      'marker-end': `url(#arrow-${kind})`,
    }, edgeLayer);
    el('title', {}, line).textContent = `${e.kind} (${e.resolution})`;
  }
  const nodeLayer = el('g', { class: 'nodes' }, svg);
  for (const node of nodes) {
    const p = positions.get(node.id);
    // Beyond the centre's own neighbours, labels show once zoomed in.
    const far = p.depth < 0 || p.depth >= 2 ? ' far' : '';
    const g = el('g', {
      class: `node kind-${node.kind}${node.id === center ? ' center' : ''}${far}`,
      transform: `translate(${p.x.toFixed(1)},${p.y.toFixed(1)})`,
      tabindex: 0,
      role: 'link',
      'data-id': node.id,
      'aria-label': `${node.kind} ${node.qualified_name}, ${node.path}:${node.line}`,
    }, nodeLayer);
    el('circle', { r: node.id === center ? 11 : 7 }, g);
    const label = el('text', { dx: '1em', dy: '0.35em' }, g);
    label.textContent = node.name;
    el('title', {}, g).textContent = `${node.qualified_name}\n${node.path}:${node.line}`;
    g.addEventListener('click', () => onOpen(node));
    g.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        onOpen(node);
      }
    });
  }
  container.replaceChildren(svg);
  enablePanZoom(svg, { x: minX, y: minY, w: width, h: height });
  return svg;
}

function enablePanZoom(svg, box) {
  const view = { ...box };
  // Node sizes, labels and strokes are kept at one size on screen: `--u` is the SVG
  // units one screen pixel spans now (style.css scales by it).
  const apply = () => {
    svg.setAttribute('viewBox', `${view.x} ${view.y} ${view.w} ${view.h}`);
    const rect = svg.getBoundingClientRect();
    if (rect.width > 0 && rect.height > 0) {
      const u = Math.max(view.w / rect.width, view.h / rect.height);
      svg.style.setProperty('--u', u.toFixed(4));
      svg.classList.toggle('zoomed-out', u > 1.4);
    }
  };
  requestAnimationFrame(apply);
  svg.addEventListener('wheel', (ev) => {
    ev.preventDefault();
    const rect = svg.getBoundingClientRect();
    const fx = (ev.clientX - rect.left) / rect.width;
    const fy = (ev.clientY - rect.top) / rect.height;
    const scale = ev.deltaY > 0 ? 1.15 : 1 / 1.15;
    const w = view.w * scale;
    const h = view.h * scale;
    view.x += (view.w - w) * fx;
    view.y += (view.h - h) * fy;
    view.w = w;
    view.h = h;
    apply();
  }, { passive: false });
  let drag = null;
  svg.addEventListener('pointerdown', (ev) => {
    if (ev.target.closest('.node')) return;
    drag = { x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y };
    svg.setPointerCapture(ev.pointerId);
  });
  svg.addEventListener('pointermove', (ev) => {
    if (!drag) return;
    const rect = svg.getBoundingClientRect();
    view.x = drag.vx - (ev.clientX - drag.x) * (view.w / rect.width);
    view.y = drag.vy - (ev.clientY - drag.y) * (view.h / rect.height);
    apply();
  });
  svg.addEventListener('pointerup', () => {
    drag = null;
  });
}

/** The graph as a standalone SVG file (styles inlined), offered as a download. */
export function exportSvg(svg, name) {
  const copy = svg.cloneNode(true);
  const style = document.createElementNS(SVG_NS, 'style');
  style.textContent = `
    .edge { stroke: #8a94a6; stroke-width: 1.4; vector-effect: non-scaling-stroke; }
    .edge.guess { stroke-dasharray: 5 4; stroke: #c08a3e; }
    .arrow-certain { fill: #8a94a6; } .arrow-guess { fill: #c08a3e; }
    .node circle { fill: #4f7cff; stroke: #fff; stroke-width: 1.5; vector-effect: non-scaling-stroke;
      r: calc(6px * var(--u, 1)); }
    .node.far circle { r: calc(4px * var(--u, 1)); fill: #7b9bff; }
    .node.center circle { fill: #e2574c; r: calc(10px * var(--u, 1)); }
    .node text { font-family: sans-serif; font-size: calc(12px * var(--u, 1)); fill: #1d2330; }`;
  copy.insertBefore(style, copy.firstChild);
  const blob = new Blob([new XMLSerializer().serializeToString(copy)], { type: 'image/svg+xml' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
