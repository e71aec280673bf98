// Strata's admin UI: one page, five views chosen by the URL's hash. Every
// figure comes from the server's JSON API (POST /api/strata.v1.<Service>/
// <Method>, the gRPC API in JSON) or from /metrics. The access token, when
// the server asks for one, lives in sessionStorage (this tab only).
'use strict';

const TOKEN_KEY = 'strata.token';
const $ = (sel, root = document) => root.querySelector(sel);

// ---- Talking to the server ----

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? {Authorization: 'Bearer ' + token} : {};
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, body) {
  const response = await fetch('/api/strata.v1.' + method, {
    method: 'POST',
    headers: {'Content-Type': 'application/json', ...authHeaders()},
    body: JSON.stringify(body || {}),
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new ApiError(
        response.status, json.code || 'HTTP ' + response.status,
        json.message || response.statusText);
    if (response.status === 401) askForToken(error.message);
    throw error;
  }
  return json;
}

// The events of a streamed read ({"messages": [{"events": [...]}, ...]}).
function eventsOf(reply) {
  return reply.messages.flatMap((m) => m.events || []);
}

async function metricsText() {
  const response = await fetch('/metrics', {headers: authHeaders()});
  if (response.status === 401) askForToken(await response.text());
  if (!response.ok)
    throw new ApiError(response.status, 'HTTP ' + response.status, await response.text());
  return response.text();
}

// Prometheus text: [{name, labels, value}].
function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const l of (match[3] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2];
    }
    out.push({name: match[1], labels, value: Number(match[4])});
  }
  return out;
}

function sum(metrics, name, filter = () => true) {
  return metrics.filter((m) => m.name === name && filter(m.labels))
      .reduce((a, m) => a + m.value, 0);
}

// ---- Small helpers ----

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class')
      node.className = v;
    else if (k.startsWith('on'))
      node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false)
      node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

const fmt = new Intl.NumberFormat('en-US', {maximumFractionDigits: 1});
const num = (v) => fmt.format(Number(v || 0));

function showError(error) {
  const banner = $('#banner');
  if (!error) {
    banner.hidden = true;
    return;
  }
  banner.textContent = (error.code ? error.code + ': ' : '') + error.message;
  banner.hidden = false;
}

let tokenDismissed = false;  // not asked again until the Token button

function askForToken(message, fromButton = false) {
  const dialog = $('#token-dialog');
  if (dialog.open || (tokenDismissed && !fromButton)) return;
  $('#token-input').value = '';
  $('#token-dialog p').textContent = message || 'This server asks for an access token.';
  dialog.showModal();
}

function decodeBase64(b64) {
  const bin = atob(b64 || '');
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

// An event payload as text: pretty JSON, plain UTF-8, or a hex dump.
function describePayload(b64) {
  const bytes = decodeBase64(b64);
  if (bytes.length === 0) return {kind: 'empty', text: '(empty)'};
  try {
    const text = new TextDecoder('utf-8', {fatal: true}).decode(bytes);
    try {
      return {kind: 'json', text: JSON.stringify(JSON.parse(text), null, 2)};
    } catch (_) {
      return {kind: 'text', text};
    }
  } catch (_) {
    const lines = [];
    for (let i = 0; i < bytes.length; i += 16) {
      const row = Array.from(bytes.slice(i, i + 16));
      const hex = row.map((b) => b.toString(16).padStart(2, '0')).join(' ');
      const ascii = row.map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
      lines.push(i.toString(16).padStart(8, '0') + '  ' + hex.padEnd(48) + ' ' + ascii);
    }
    return {kind: 'hex', text: lines.join('\n')};
  }
}

// A line chart of `values` (numbers) as an SVG, scaled to its own range.
function sparkline(values, {height = 60, color = '#2f6fb3'} = {}) {
  const width = 300;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.classList.add('spark');
  if (values.length < 2) return svg;
  const max = Math.max(...values), min = Math.min(0, ...values);
  const span = max - min || 1;
  const points = values.map(
      (v, i) =>
          `${(i / (values.length - 1)) * width},${height - 2 - ((v - min) / span) * (height - 4)}`);
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  line.setAttribute('points', points.join(' '));
  line.setAttribute('fill', 'none');
  line.setAttribute('stroke', color);
  line.setAttribute('stroke-width', '2');
  line.setAttribute('vector-effect', 'non-scaling-stroke');
  svg.append(line);
  return svg;
}

// Runs `fn` now and every `ms` until the view is left; errors go to the banner.
function every(ms, fn, cleanups) {
  let stopped = false;
  let timer = null;
  const tick = async () => {
    try {
      await fn();
      showError(null);
    } catch (e) {
      showError(e);
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  cleanups.push(() => {
    stopped = true;
    clearTimeout(timer);
  });
}

// ---- Dashboard ----

const HISTORY = 150;  // samples: 5 minutes at one every 2 s
const history = {
  samples: [],
  previous: null
};

function card(id, title) {
  return el(
      'div', {class: 'card', id}, el('h2', {}, title), el('div', {class: 'value'}, '–'),
      el('div', {class: 'muted detail'}, ''), el('div', {class: 'chart-slot'}));
}

function setCard(id, value, detail, series) {
  const c = $('#' + id);
  if (!c) return;
  $('.value', c).textContent = value;
  $('.detail', c).textContent = detail;
  $('.chart-slot', c).replaceChildren(sparkline(series));
}

function viewDashboard(root, cleanups) {
  root.append(
      el('h1', {}, 'Dashboard'),
      el('div', {class: 'cards'}, card('card-head', 'Head position'),
         card('card-appends', 'Events appended / s'), card('card-append-latency', 'Append latency'),
         card('card-fsync-latency', 'fsync latency')),
      el('h2', {style: 'margin-top:16px'}, 'Projections'),
      el('table', {id: 'dash-projections'},
         el('thead', {},
            el('tr', {}, el('th', {}, 'projection'), el('th', {}, 'generation'),
               el('th', {}, 'state'), el('th', {class: 'num'}, 'checkpoint'),
               el('th', {class: 'num'}, 'lag (events)'), el('th', {}, 'lag, last minutes'))),
         el('tbody')));
  every(2000, async () => {
    const metrics = parseMetrics(await metricsText());
    const now = performance.now() / 1000;
    const sample = {
      t: now,
      head: sum(metrics, 'strata_log_head_position'),
      events: sum(metrics, 'strata_events_appended_total'),
      appendSum: sum(metrics, 'strata_append_latency_seconds_sum'),
      appendCount: sum(metrics, 'strata_append_latency_seconds_count'),
      fsyncSum: sum(metrics, 'strata_fsync_latency_seconds_sum'),
      fsyncCount: sum(metrics, 'strata_fsync_latency_seconds_count'),
      lag: {},
    };
    const rows = [];
    for (const m of metrics.filter((x) => x.name === 'strata_projection_lag_events')) {
      const key = `${m.labels.projection} v${m.labels.projection_version} g${m.labels.generation}`;
      sample.lag[key] = m.value;
      const checkpoint = metrics.find(
          (x) => x.name === 'strata_projection_checkpoint_position' &&
              x.labels.projection === m.labels.projection &&
              x.labels.generation === m.labels.generation);
      rows.push(
          {key, labels: m.labels, lag: m.value, checkpoint: checkpoint ? checkpoint.value : 0});
    }
    const prev = history.previous;
    if (prev) {
      const dt = Math.max(sample.t - prev.t, 0.001);
      sample.rate = (sample.events - prev.events) / dt;
      const ac = sample.appendCount - prev.appendCount;
      sample.appendMs = ac > 0 ? ((sample.appendSum - prev.appendSum) / ac) * 1000 : 0;
      const fc = sample.fsyncCount - prev.fsyncCount;
      sample.fsyncMs = fc > 0 ? ((sample.fsyncSum - prev.fsyncSum) / fc) * 1000 : 0;
      history.samples.push(sample);
      if (history.samples.length > HISTORY) history.samples.shift();
    }
    history.previous = sample;
    const s = history.samples;
    setCard('card-head', num(sample.head), 'events in the log', s.map((x) => x.head));
    setCard(
        'card-appends', num(sample.rate || 0), `${num(sample.events)} appended since start`,
        s.map((x) => x.rate));
    setCard(
        'card-append-latency', `${(sample.appendMs || 0).toFixed(2)} ms`,
        'mean over the last 2 s, append to acknowledgement', s.map((x) => x.appendMs));
    setCard(
        'card-fsync-latency', `${(sample.fsyncMs || 0).toFixed(2)} ms`,
        'mean over the last 2 s, one group commit', s.map((x) => x.fsyncMs));
    const tbody = $('#dash-projections tbody');
    if (!tbody) return;
    tbody.replaceChildren(...rows.map(
        (r) => el(
            'tr', {'data-projection': r.labels.projection},
            el('td', {}, `${r.labels.projection} v${r.labels.projection_version}`),
            el('td', {}, r.labels.generation),
            el('td', {class: 'state-' + r.labels.generation_state}, r.labels.generation_state),
            el('td', {class: 'num'}, num(r.checkpoint)), el('td', {class: 'num lag'}, num(r.lag)),
            el('td', {style: 'width:320px'},
               sparkline(s.map((x) => x.lag[r.key] || 0), {height: 30})))));
  }, cleanups);
}

// ---- Streams ----

const PAGE = 20;
let streamsPrefix = '';  // kept while moving between streams

function viewStreams(root, cleanups, stream) {
  const list = el('tbody');
  let after = '';
  const more = el('button', {id: 'stream-more', type: 'button', hidden: true}, 'More streams');
  const prefix =
      el('input', {id: 'stream-prefix', placeholder: 'stream name prefix', value: streamsPrefix});
  const events = el('div', {id: 'stream-view'}, el('p', {class: 'muted'}, 'Pick a stream.'));
  root.append(
      el('h1', {}, 'Streams'),
      el('div', {class: 'split'},
         el('div', {},
            el('form', {
              class: 'row',
              onsubmit: (e) => {
                e.preventDefault();
                load(true);
              }
            },
               prefix, el('button', {id: 'stream-search', class: 'primary'}, 'List')),
            el('table', {id: 'stream-list'},
               el('thead', {},
                  el('tr', {}, el('th', {}, 'stream'), el('th', {class: 'num'}, 'last version'),
                     el('th', {class: 'num'}, 'last position'))),
               list),
            el('div', {class: 'row'}, more)),
         events));
  more.addEventListener('click', () => load(false));

  let listing = 0;  // replies to an older listing are dropped
  async function load(fresh) {
    const mine = fresh ? ++listing : listing;
    more.disabled = true;
    try {
      if (fresh) {
        after = '';
        list.replaceChildren();
      }
      streamsPrefix = prefix.value;
      const reply = await api('Streams/ListStreams', {prefix: prefix.value, after, limit: 50});
      if (mine !== listing) return;
      for (const s of reply.streams) {
        list.append(
            el('tr', {
              class: 'clickable',
              'data-stream': s.stream,
              onclick: () => {
                location.hash = '#/streams/' + encodeURIComponent(s.stream);
              }
            },
               el('td', {}, s.stream), el('td', {class: 'num'}, s.last_version),
               el('td', {class: 'num'}, s.last_position)));
      }
      after = reply.next_after;
      more.hidden = !after;
      showError(null);
    } catch (e) {
      showError(e);
    } finally {
      more.disabled = false;
    }
  }
  load(true);
  if (stream) showStream(events, stream);
}

function showStream(root, stream) {
  let backwards = false;
  let from = null;  // version to read from; null: the start (or the end backwards)
  const table = el('tbody');
  const detail = el('div', {id: 'event-detail'});
  const pageInfo = el('span', {class: 'muted', id: 'stream-page'});
  const next = el('button', {id: 'stream-next', type: 'button'}, 'Next page');
  const direction =
      el('select', {id: 'stream-direction'}, el('option', {value: 'forwards'}, 'oldest first'),
         el('option', {value: 'backwards'}, 'newest first'));
  direction.addEventListener('change', () => {
    backwards = direction.value === 'backwards';
    from = null;
    read();
  });
  next.addEventListener('click', () => read());
  root.replaceChildren(
      el('h2', {id: 'stream-name'}, stream),
      el('div', {class: 'row'}, direction,
         el('button', {
           id: 'stream-first',
           type: 'button',
           onclick: () => {
             from = null;
             read();
           }
         },
            'First page'),
         next, pageInfo),
      el('table', {id: 'stream-events'},
         el('thead', {},
            el('tr', {}, el('th', {class: 'num'}, 'version'), el('th', {class: 'num'}, 'position'),
               el('th', {}, 'type'), el('th', {}, 'recorded'))),
         table),
      detail);

  let reads = 0;  // a reply to an earlier read (say, the other direction) is dropped
  async function read() {
    const mine = ++reads;
    try {
      const request = {stream, backwards, max_count: PAGE};
      if (from !== null) request.from_version = from;
      const got = eventsOf(await api('Streams/ReadStream', request));
      if (mine !== reads) return;
      table.replaceChildren(...got.map(
          (e) =>
              el('tr', {
                class: 'clickable',
                'data-version': e.version,
                onclick: (ev) => select(ev.currentTarget, e)
              },
                 el('td', {class: 'num'}, e.version), el('td', {class: 'num'}, e.position),
                 el('td', {}, e.type), el('td', {}, recorded(e)))));
      const last = got.length ? Number(got[got.length - 1].version) : null;
      pageInfo.textContent =
          got.length ? `versions ${got[0].version} to ${last}` : 'no more events';
      next.disabled = got.length < PAGE || (backwards && last === 0);
      if (last !== null) from = backwards ? last - 1 : last + 1;
      detail.replaceChildren();
      showError(null);
    } catch (e) {
      if (mine !== reads) return;
      table.replaceChildren();
      pageInfo.textContent = '';
      showError(e);
    }
  }
  function select(row, e) {
    for (const r of table.querySelectorAll('tr.selected')) r.classList.remove('selected');
    row.classList.add('selected');
    const data = describePayload(e.data);
    const meta = describePayload(e.metadata);
    detail.replaceChildren(
        el('div', {},
           el('h2', {style: 'margin-top:12px'},
              `${e.type} · version ${e.version} · position ${e.position}`),
           el('div', {class: 'muted'},
              `event id ${e.event_id} · ${e.content_type || 'no content type'} · ` +
                  `recorded ${recorded(e)} UTC · data as ${data.kind}`),
           el('pre', {id: data.kind === 'hex' ? 'event-hex' : 'event-json'}, data.text),
           meta.kind === 'empty' ? null :
                                   el('div', {}, el('h2', {style: 'margin-top:8px'}, 'metadata'),
                                      el('pre', {id: 'event-metadata'}, meta.text))));
  }
  read();
}

function recorded(e) {
  const us = Number(e.recorded_at || 0);
  return us ? new Date(us / 1000).toISOString().replace('T', ' ').slice(0, 19) : '';
}

// ---- Live tail of $all ----

function viewTail(root, cleanups) {
  const KEEP = 200;
  const prefix = el('input', {id: 'tail-prefix', placeholder: 'stream prefix'});
  const types = el('input', {id: 'tail-types', placeholder: 'event types, comma separated'});
  const pause = el('button', {id: 'tail-pause', type: 'button'}, 'Pause');
  const count = el('span', {class: 'muted', id: 'tail-count'});
  const body = el('tbody');
  let last = null;  // the newest position shown
  let paused = false;
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
  });
  let epoch = 0;  // a reply from before the filters changed is dropped
  const restart = () => {
    epoch++;
    last = null;
    body.replaceChildren();
  };
  prefix.addEventListener('change', restart);
  types.addEventListener('change', restart);
  root.append(
      el('h1', {}, 'Live tail of $all'), el('div', {class: 'row'}, prefix, types, pause, count),
      el('table', {id: 'tail-events'},
         el('thead', {},
            el('tr', {}, el('th', {class: 'num'}, 'position'), el('th', {}, 'stream'),
               el('th', {class: 'num'}, 'version'), el('th', {}, 'type'), el('th', {}, 'recorded'),
               el('th', {}, 'data'))),
         body));
  every(1000, async () => {
    if (paused) return;
    const filter = {
      stream_prefix: prefix.value,
      event_types: types.value.split(',').map((t) => t.trim()).filter(Boolean)
    };
    // First the newest few, then what follows them.
    const mine = epoch;
    const first = last === null;
    const request = first ? {backwards: true, max_count: 50, filter} :
                            {from_position: last + 1, max_count: KEEP, filter};
    const got = eventsOf(await api('Streams/ReadAll', request));
    // Nothing matches yet: follow from the head, not from the log's start.
    const head = first && !got.length ?
        eventsOf(await api('Streams/ReadAll', {backwards: true, max_count: 1})) :
        [];
    if (mine !== epoch) return;
    const fresh = first ? got : got.slice().reverse();
    if (first) {
      last = got.length ? Number(got[0].position) : (head.length ? Number(head[0].position) : 0);
    } else if (got.length) {
      last = Number(got[got.length - 1].position);
    }
    const rows = fresh.map((e) => {
      const data = describePayload(e.data);
      return el(
          'tr', {'data-position': e.position}, el('td', {class: 'num'}, e.position),
          el('td', {}, e.stream), el('td', {class: 'num'}, e.version), el('td', {}, e.type),
          el('td', {}, recorded(e)),
          el('td', {class: 'muted'}, data.text.replace(/\s+/g, ' ').slice(0, 80)));
    });
    if (first) {
      body.append(...rows);
    } else {
      body.prepend(...rows);
    }
    while (body.children.length > KEEP) body.lastChild.remove();
    count.textContent =
        `${body.children.length} events shown, newest first; the newest is at position ${last}`;
  }, cleanups);
}

// ---- Projections ----

function viewProjections(root, cleanups) {
  const body = el('tbody');
  const notice = el('div', {id: 'projection-notice', class: 'muted'});
  root.append(
      el('h1', {}, 'Projections'), notice,
      el('table', {id: 'projection-list'},
         el('thead', {},
            el('tr', {}, el('th', {}, 'projection'), el('th', {class: 'num'}, 'version'),
               el('th', {class: 'num'}, 'generation'), el('th', {}, 'state'),
               el('th', {class: 'num'}, 'checkpoint / head'), el('th', {class: 'num'}, 'lag'),
               el('th', {}, 'progress'), el('th', {class: 'num'}, 'events/s'),
               el('th', {}, 'error'), el('th', {}, ''))),
         body));
  every(1000, async () => {
    const reply = await api('Projections/ListProjections', {});
    body.replaceChildren(...reply.projections.map((p) => {
      const progress = Math.round(Number(p.progress) * 100);
      const error = p.error ? `${p.error} (at position ${p.error_position})` : '';
      return el(
          'tr', {'data-name': p.name, 'data-generation': p.generation, 'data-state': p.state},
          el('td', {}, p.name, p.defined ? el('span', {class: 'muted'}, ' (defined)') : null),
          el('td', {class: 'num'}, p.version), el('td', {class: 'num'}, p.generation),
          el('td', {class: 'state-' + p.state}, p.state),
          el('td', {class: 'num'}, `${p.checkpoint} / ${p.head}`), el('td', {class: 'num'}, p.lag),
          el('td', {},
             el('span', {class: 'bar', title: progress + '%'},
                el('span', {style: `width:${progress}%`})),
             ` ${progress}%`,
             p.seconds_left !== undefined && p.state === 'building' ?
                 el('span', {class: 'muted'}, ` ${Math.ceil(p.seconds_left)} s left`) :
                 null),
          el('td', {class: 'num'}, num(p.events_per_second)), el('td', {class: 'error'}, error),
          el('td', {},
             p.state === 'building' ? '' :
                                      el('button', {
                                        class: 'danger rebuild',
                                        type: 'button',
                                        'data-name': p.name,
                                        onclick: () => rebuild(p.name)
                                      },
                                         'Rebuild')));
    }));
  }, cleanups);

  async function rebuild(name) {
    if (!confirm(
            `Rebuild ${name} from the start of the log? The live read model keeps ` +
            'answering until the new one catches up and takes over.'))
      return;
    try {
      await api('Projections/RebuildProjection', {name});
      notice.textContent = `Rebuild of ${name} started; it takes over once it catches up.`;
    } catch (e) {
      showError(e);
    }
  }
}

// ---- Time travel ----

function utcDay(offsetDays) {
  const d = new Date(Date.now() + offsetDays * 86400000);
  return d.toISOString().slice(0, 10);
}

function dayChart(days) {
  const width = 900, height = 180, bottom = 20;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('id', 'time-chart');
  svg.classList.add('chart');
  const max = Math.max(1, ...days.map((d) => Number(d.clicks)));
  const w = width / Math.max(days.length, 1);
  days.forEach((d, i) => {
    const h = (Number(d.clicks) / max) * (height - bottom - 10);
    const rect = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
    rect.setAttribute('class', 'day');
    rect.setAttribute('x', i * w + 1);
    rect.setAttribute('y', height - bottom - h);
    rect.setAttribute('width', Math.max(w - 2, 1));
    rect.setAttribute('height', h);
    rect.setAttribute('data-date', d.date);
    rect.setAttribute('data-clicks', d.clicks);
    const title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
    title.textContent = `${d.date}: ${d.clicks} clicks`;
    rect.append(title);
    svg.append(rect);
    if (i % 15 === 0) {
      const label = document.createElementNS('http://www.w3.org/2000/svg', 'text');
      label.setAttribute('x', i * w);
      label.setAttribute('y', height - 5);
      label.textContent = d.date;
      svg.append(label);
    }
  });
  return svg;
}

// A RowValue (one of its oneof fields) as text.
function rowValue(v) {
  for (const k of ['int64_value', 'double_value', 'string_value', 'bool_value', 'json_value']) {
    if (k in v) return String(v[k]);
  }
  return '';
}

function viewTime(root, cleanups) {
  const link = el('select', {id: 'time-link'});
  const slider = el('input', {id: 'time-slider', type: 'range', min: 1, max: 1, value: 1});
  const position = el('span', {id: 'time-position'});
  const total = el('div', {id: 'time-total', class: 'value'});
  const breakdown = el('div', {id: 'time-breakdown', class: 'muted'});
  const chart = el('div', {id: 'time-chart-slot'});
  const projection = el('select', {id: 'time-projection'});
  const rows = el('tbody');
  const rowsInfo = el('div', {id: 'time-rows-info', class: 'muted'});
  root.append(
      el('h1', {}, 'Time travel: the read models as of a log position'),
      el('div', {class: 'row'}, el('label', {}, 'link ', link),
         el('button', {id: 'time-now', type: 'button', onclick: () => toHead()}, 'Now')),
      el('div', {class: 'row'}, el('span', {class: 'muted'}, 'position'), position), slider,
      el('div', {class: 'card'}, el('h2', {}, 'A link\'s clicks in the last 90 days'), total,
         breakdown, chart),
      el('div', {class: 'card', style: 'margin-top:12px'},
         el('h2', {}, 'A defined projection\'s rows'),
         el('div', {class: 'row'}, el('label', {}, 'projection ', projection)), rowsInfo,
         el('table', {id: 'time-rows'},
            el('thead', {}, el('tr', {}, el('th', {}, 'key'), el('th', {}, 'values'))), rows)));
  let pending = null;
  slider.addEventListener('input', () => {
    position.textContent = slider.value;
    clearTimeout(pending);
    pending = setTimeout(query, 80);
  });
  link.addEventListener('change', query);
  projection.addEventListener('change', queryRows);

  async function toHead() {
    const got = eventsOf(await api('Streams/ReadAll', {backwards: true, max_count: 1}));
    const head = got.length ? Number(got[0].position) : 1;
    slider.max = head;
    slider.value = head;
    position.textContent = head;
    await query();
  }
  async function query() {
    queryRows();
    if (!link.value) return;
    try {
      const reply = await api('LinkQueries/GetLinkAnalytics', {
        link_id: link.value,
        from_date: utcDay(-89),
        to_date: utcDay(0),
        as_of_position: Number(slider.value)
      });
      total.textContent = `${num(reply.total_clicks)} clicks as of position ${reply.position}`;
      const top =
          (reply.by_country || []).slice(0, 3).map((k) => `${k.key || '?'} ${k.clicks}`).join(', ');
      breakdown.textContent =
          `all time ${num(reply.all_time_clicks)}; top countries: ${top || 'none'}`;
      chart.replaceChildren(dayChart(reply.by_day || []));
      showError(null);
    } catch (e) {
      total.textContent = '';
      breakdown.textContent = '';
      chart.replaceChildren();
      showError(e);
    }
  }
  let scans = 0;  // a reply for an earlier position is dropped
  async function queryRows() {
    const mine = ++scans;
    if (!projection.value) {
      rowsInfo.textContent = 'No defined projection yet (strata projections define FILE).';
      rows.replaceChildren();
      return;
    }
    try {
      const reply = await api('ProjectionQueries/Scan', {
        projection: projection.value,
        limit: 50,
        as_of_position: Number(slider.value)
      });
      if (mine !== scans) return;
      const n = reply.rows.length;
      rowsInfo.textContent = `${n}${reply.next_page_token ? '+' : ''} row${n === 1 ? '' : 's'} ` +
          `as of position ${reply.position}`;
      rows.replaceChildren(...reply.rows.map(
          (r) => el('tr', {}, el('td', {}, r.key.join(' / ')),
                    el('td', {}, Object.entries(r.values).map(([k, v]) => `${k}=${rowValue(v)}`)
                                     .join(', ')))));
    } catch (e) {
      if (mine !== scans) return;
      rowsInfo.textContent = '';
      rows.replaceChildren();
      showError(e);
    }
  }
  api('Projections/ListProjections', {})
      .then((reply) => {
        const names = [...new Set(reply.projections.filter((p) => p.defined).map((p) => p.name))];
        projection.replaceChildren(...names.map((n) => el('option', {value: n}, n)));
        queryRows();
      })
      .catch(showError);
  (async () => {
    try {
      const reply = await api('Streams/ListStreams', {prefix: 'link-', limit: 200});
      link.replaceChildren(...reply.streams.map((s) => {
        const id = s.stream.slice('link-'.length);
        return el('option', {value: id}, id);
      }));
      if (!reply.streams.length) {
        total.textContent = 'No links yet: `strata demo` makes some.';
        return;
      }
      await toHead();
    } catch (e) {
      showError(e);
    }
  })();
}

// ---- Routing ----

const VIEWS = {
  dashboard: viewDashboard,
  streams: viewStreams,
  tail: viewTail,
  projections: viewProjections,
  time: viewTime
};
let cleanups = [];

function route() {
  for (const c of cleanups) c();
  cleanups = [];
  showError(null);
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  const name = VIEWS[parts[0]] ? parts[0] : 'dashboard';
  for (const a of document.querySelectorAll('header nav a')) {
    a.classList.toggle('active', a.dataset.view === name);
  }
  const root = $('#view');
  root.replaceChildren();
  root.dataset.view = name;
  let arg;
  try {
    arg = parts.length > 1 ? decodeURIComponent(parts.slice(1).join('/')) : undefined;
  } catch (_) {
    arg = parts.slice(1).join('/');  // a malformed %-escape: taken as written
  }
  VIEWS[name](root, cleanups, arg);
}

async function updateHead() {
  try {
    const got = eventsOf(await api('Streams/ReadAll', {backwards: true, max_count: 1}));
    $('#head').textContent = 'head ' + (got.length ? got[0].position : 0);
  } catch (_) {
    $('#head').textContent = '';
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('#token-button').addEventListener('click', () => askForToken(undefined, true));
  $('#token-dialog').addEventListener('cancel', () => {
    tokenDismissed = true;
  });
  $('#token-form').addEventListener('submit', (e) => {
    if (e.submitter && e.submitter.value === 'clear')
      sessionStorage.removeItem(TOKEN_KEY);
    else if ($('#token-input').value)
      sessionStorage.setItem(TOKEN_KEY, $('#token-input').value.trim());
    tokenDismissed = false;
    setTimeout(route, 0);
  });
  window.addEventListener('hashchange', route);
  route();
  updateHead();
  setInterval(updateHead, 3000);
});
