// The page of `be-worker ui`: polls the server's JSON (relative URLs: the token is in the page's
// path) and draws it. Everything a message says is set as text, never as HTML.

const STATUS_EVERY_MS = 3000;
const METRICS_EVERY_MS = 5000;
const SCHEDULES_EVERY_MS = 60_000;
/** Depth points kept per queue: an hour at one point per poll. */
const HISTORY_POINTS = 1200;
/**
 * A change in the err- counts lists the dead letters again, at most this often: a listing hides
 * the messages it reads for a moment, which itself changes the counts.
 */
const RELIST_AFTER_MS = 15_000;

const state = {
  overview: undefined,
  status: undefined,
  deadLetters: undefined,
  /** The err- counts the dead letters were last listed at: a change lists them again. */
  listedCounts: '',
  listedAt: 0,
  metrics: [],
  /** queue name → [{ at, total }] */
  history: new Map(),
  openedAt: Date.now(),
};

/** An element with attributes (on* never) and children (strings become text). */
function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name === 'className') element.className = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** A table's header: one column header per heading. */
function headRow(...headings) {
  return el(
    'thead',
    {},
    el(
      'tr',
      {},
      headings.map((heading) => el('th', { scope: 'col' }, heading)),
    ),
  );
}

async function api(path, init) {
  const response = await fetch(`api/${path}`, {
    ...init,
    headers: init?.body ? { 'content-type': 'application/json' } : {},
  });
  const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(body.error ?? `${response.status}`);
  return body;
}

const $ = (id) => document.getElementById(id);

function say(text, isError = false) {
  const line = $('updated');
  line.textContent = text;
  line.classList.toggle('error', isError);
}

// ---- queues ---------------------------------------------------------------------------------

const total = (row) => (row.visible ?? 0) + (row.inFlight ?? 0) + (row.delayed ?? 0);

function seconds(value) {
  if (value === undefined || value === null) return undefined;
  if (value < 90) return `${Math.round(value)} s`;
  if (value < 5400) return `${Math.round(value / 60)} min`;
  return `${(value / 3600).toFixed(1)} h`;
}

function oldestOf(row) {
  if (row.missing || row.role !== 'queue') return '—';
  for (const source of state.metrics) {
    const age = source.oldestMessageAgeSeconds?.[row.queue];
    if (age !== undefined) return row.visible ? (seconds(age) ?? '—') : '—';
  }
  return '—';
}

function chart(name) {
  const points = state.history.get(name) ?? [];
  const width = 160;
  const height = 28;
  const max = Math.max(1, ...points.map((point) => point.total));
  const span = Math.max(1, Date.now() - state.openedAt);
  const coordinates = points
    .map((point) => {
      const x = ((point.at - state.openedAt) / span) * width;
      const y = height - 2 - (point.total / max) * (height - 4);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('role', 'img');
  const minutes = Math.max(1, Math.round(span / 60_000));
  const first = points[0]?.total ?? 0;
  const last = points.at(-1)?.total ?? 0;
  svg.setAttribute('aria-label', `${name}: ${first} then ${last} message(s) over ${minutes} min, at most ${max}`);
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  line.setAttribute(
    'points',
    points.length === 1 ? `0,${coordinates.split(',')[1]} ${width},${coordinates.split(',')[1]}` : coordinates,
  );
  svg.append(line);
  return svg;
}

function drawQueues() {
  const body = $('queues').tBodies[0];
  const rows = state.status.queues.map((row) => {
    const counts = row.missing
      ? [el('td', { colspan: 3 }, 'missing in this env: be-worker provision creates it')]
      : ['visible', 'inFlight', 'delayed'].map((field) =>
          el('td', { className: 'number', dataset: { field } }, String(row[field])),
        );
    const classes = [row.role === 'dead-letter' ? 'dead-letter' : 'queue'];
    if (row.role === 'dead-letter' && total(row) > 0) classes.push('has-dead-letters');
    if (row.missing) classes.push('missing');
    return el(
      'tr',
      { className: classes.join(' '), dataset: { queue: row.name, role: row.role } },
      el('th', { scope: 'row' }, row.name),
      counts,
      el('td', { dataset: { field: 'oldest' } }, oldestOf(row)),
      el('td', {}, row.missing ? '' : chart(row.name)),
    );
  });
  body.replaceChildren(...rows);
}

async function pollStatus() {
  try {
    state.status = await api('status');
    const at = Date.parse(state.status.at);
    for (const row of state.status.queues) {
      if (row.missing) continue;
      const points = state.history.get(row.name) ?? [];
      points.push({ at, total: total(row) });
      if (points.length > HISTORY_POINTS) points.shift();
      state.history.set(row.name, points);
    }
    drawQueues();
    const where = state.status.identity.endpoint
      ? `the local SQS at ${state.status.identity.endpoint}`
      : `AWS account ${state.status.identity.account}, ${state.status.region}`;
    say(`${where}. Updated ${new Date(at).toLocaleTimeString()}.`);
    const counts = state.status.queues
      .filter((row) => row.role === 'dead-letter')
      .map((row) => total(row))
      .join(',');
    if (counts !== state.listedCounts && Date.now() - state.listedAt > RELIST_AFTER_MS) await listDeadLetters();
  } catch (error) {
    say(`Could not read the queues: ${error.message}`, true);
  }
  setTimeout(pollStatus, STATUS_EVERY_MS);
}

// ---- dead letters -----------------------------------------------------------------------------

async function listDeadLetters() {
  try {
    const report = await api('dead-letters');
    state.deadLetters = report;
    state.listedAt = Date.now();
    state.listedCounts = state.status.queues
      .filter((row) => row.role === 'dead-letter')
      .map((row) => total(row))
      .join(',');
    drawDeadLetters();
    drawQueues();
  } catch (error) {
    $('dead-letter-queues').replaceChildren(
      el('p', { className: 'error' }, `Could not read the dead letters: ${error.message}`),
    );
  }
}

function drawDeadLetters() {
  const writable = !state.overview.readOnly;
  const queues = state.deadLetters.queues.filter((queue) => !queue.missing);
  if (queues.every((queue) => queue.messages === 0)) {
    $('dead-letter-queues').replaceChildren(el('p', { id: 'no-dead-letters' }, 'No dead letters.'));
    return;
  }
  const parts = queues
    .filter((queue) => queue.messages > 0)
    .map((queue) => {
      const sample = queue.read < queue.messages ? ` (grouped: the ${queue.read} read)` : '';
      const actions = writable
        ? el(
            'div',
            { className: 'queue-actions' },
            el(
              'button',
              { type: 'button', dataset: { action: 'redrive', queue: queue.queue } },
              `Redrive all ${queue.messages}`,
            ),
            el(
              'button',
              { type: 'button', className: 'danger', dataset: { action: 'purge', queue: queue.queue } },
              `Purge ${queue.messages}`,
            ),
          )
        : undefined;
      const groups = el(
        'table',
        { className: 'groups', dataset: { queue: queue.deadLetterQueue } },
        el('caption', { className: 'visually-hidden' }, `Dead letters of ${queue.deadLetterQueue} by reason and task`),
        headRow('Reason', 'Task', 'Count', el('span', { className: 'visually-hidden' }, 'Actions')),
        el(
          'tbody',
          {},
          queue.groups.map((group) =>
            el(
              'tr',
              { dataset: { errorType: group.errorType, task: group.task } },
              el('td', {}, group.errorType),
              el('td', {}, group.task),
              el('td', { className: 'number', dataset: { field: 'count' } }, String(group.count)),
              el(
                'td',
                {},
                el(
                  'button',
                  {
                    type: 'button',
                    dataset: { action: 'open', queue: queue.queue, errorType: group.errorType, task: group.task },
                    'aria-label': `Open the ${group.count} ${group.errorType} dead letter(s) of task ${group.task}`,
                  },
                  'Open',
                ),
                ' ',
                writable && group.task !== '(unknown)'
                  ? el(
                      'button',
                      {
                        type: 'button',
                        dataset: { action: 'redrive', queue: queue.queue, task: group.task },
                        'aria-label': `Redrive the dead letters of task ${group.task}`,
                      },
                      `Redrive task ${group.task}`,
                    )
                  : undefined,
              ),
            ),
          ),
        ),
      );
      return el(
        'div',
        { className: 'dead-letter-queue' },
        el('h3', {}, `${queue.deadLetterQueue}: ${queue.messages} message(s)${sample}`),
        actions,
        groups,
      );
    });
  $('dead-letter-queues').replaceChildren(...parts);
}

async function openGroup(queue, errorType, task) {
  const section = $('letters-section');
  section.hidden = false;
  $('letters-title').textContent = `Dead letters of ${queue}: ${errorType}, task ${task}`;
  $('letters').replaceChildren(el('p', {}, 'Reading…'));
  section.focus();
  try {
    const report = await api(`letters?queue=${encodeURIComponent(queue)}`);
    const letters = report.letters.filter(
      (letter) => (letter.errorType ?? '(none)') === errorType && (letter.task ?? '(unknown)') === task,
    );
    const read = `${letters.length} shown, of the first ${report.letters.length} read of ${report.messages} in ${report.deadLetterQueue}; all left in place.`;
    $('letters').replaceChildren(el('p', { id: 'letters-summary' }, read), ...letters.map(drawLetter));
  } catch (error) {
    $('letters').replaceChildren(el('p', { className: 'error' }, `Could not read them: ${error.message}`));
  }
}

function drawLetter(letter) {
  const facts = [
    ['Task', letter.task ?? '(unknown)'],
    ['Task id', letter.taskId ?? `message ${letter.messageId}`],
    ['Reason', letter.errorType ?? '(none)'],
    ['Message', letter.errorMessage],
    ['From', letter.sourceQueue],
    ['Dead-lettered', letter.deadLetteredAt],
    ['Retries', letter.retries],
    ['Receives', letter.receiveCount],
  ].filter(([, value]) => value !== undefined);
  const body = letter.decodeError
    ? [el('dt', {}, 'Body'), el('dd', {}, `not readable: ${letter.decodeError}`)]
    : [
        el('dt', {}, 'Args'),
        el('dd', {}, el('pre', {}, JSON.stringify(letter.args, null, 2))),
        el('dt', {}, 'Kwargs'),
        el('dd', {}, el('pre', {}, JSON.stringify(letter.kwargs, null, 2))),
      ];
  return el(
    'article',
    { className: 'letter', dataset: { taskId: letter.taskId ?? '' } },
    el(
      'dl',
      {},
      facts.flatMap(([name, value]) => [el('dt', {}, name), el('dd', {}, String(value))]),
      body,
    ),
  );
}

// ---- redrive and purge --------------------------------------------------------------------------

function confirmOperation({ action, queue, task }) {
  const summary = state.deadLetters.queues.find((entry) => entry.queue === queue);
  const env = state.overview.env;
  const count = summary.messages;
  const taskCount = task
    ? summary.groups.filter((group) => group.task === task).reduce((sum, group) => sum + group.count, 0)
    : count;
  const from = summary.deadLetterQueue;
  const to = state.status.queues.find((row) => row.queue === queue && row.role === 'queue')?.name ?? queue;
  const text =
    action === 'purge'
      ? `Delete the ${count} message(s) of ${from} in env "${env}" for good?`
      : task
        ? `Move the ${taskCount} dead letter(s) of task ${task} (of the ${count} in ${from}) to ${to} in env "${env}", to run again from their first try?`
        : `Move the ${count} message(s) of ${from} to ${to} in env "${env}", to run again from their first try?`;
  const dialog = $('confirm');
  $('confirm-title').textContent = action === 'purge' ? `Purge ${from}` : `Redrive ${task ? `task ${task}` : from}`;
  $('confirm-text').textContent = text;
  $('confirm-error').textContent = '';
  $('confirm-progress').hidden = true;
  $('confirm-env-field').hidden = !state.overview.shared;
  $('confirm-env-name').textContent = env;
  $('confirm-env').value = '';
  $('confirm-go').hidden = false;
  $('confirm-go').disabled = false;
  $('confirm-go').textContent = action === 'purge' ? `Purge ${count}` : `Redrive ${task ? taskCount : count}`;
  $('confirm-cancel').textContent = 'Cancel';
  dialog.dataset.state = 'asking';
  dialog.onsubmit = async (event) => {
    event.preventDefault();
    if (state.overview.shared && $('confirm-env').value.trim() !== env) {
      $('confirm-error').textContent = `Type ${env} to confirm.`;
      $('confirm-env').focus();
      return;
    }
    $('confirm-go').disabled = true;
    $('confirm-error').textContent = '';
    try {
      const operation = await api('operation', {
        method: 'POST',
        body: JSON.stringify({ action, queue, task, confirmed: { env, messages: count } }),
      });
      await follow(operation, task ? taskCount : count);
    } catch (error) {
      $('confirm-error').textContent = error.message;
      $('confirm-go').disabled = false;
      dialog.dataset.state = 'failed';
    }
  };
  dialog.showModal();
  (state.overview.shared ? $('confirm-env') : $('confirm-cancel')).focus();
}

async function follow(started, expected) {
  const dialog = $('confirm');
  dialog.dataset.state = 'running';
  $('confirm-progress').hidden = false;
  $('confirm-go').hidden = true;
  let operation = started;
  for (;;) {
    const moved = operation.progress?.moved ?? 0;
    const of = operation.progress?.total ?? expected;
    $('confirm-bar').max = Math.max(1, of);
    $('confirm-bar').value = operation.state === 'done' ? Math.max(1, of) : Math.min(moved, of);
    $('confirm-progress-text').textContent =
      operation.state === 'running'
        ? `${operation.action === 'purge' ? 'Purging' : `Moved ${moved} of ${of}`}…`
        : [operation.message, ...operation.notes].join(' ');
    if (operation.state !== 'running') break;
    await new Promise((resolve) => setTimeout(resolve, 500));
    operation = await api(`operation?id=${encodeURIComponent(operation.id)}`);
  }
  dialog.dataset.state = operation.state;
  if (operation.state === 'failed') $('confirm-error').textContent = operation.message;
  $('confirm-cancel').textContent = 'Close';
  $('confirm-cancel').focus();
}

// ---- workers' metrics and schedules ------------------------------------------------------------

const rate = (value) => (value === undefined ? '—' : value.toFixed(2));

async function pollMetrics() {
  if (!state.overview.metricsUrls.length) {
    $('metrics').replaceChildren(el('p', {}, 'No worker /metrics to read: pass --metrics <url>.'));
    return;
  }
  try {
    state.metrics = await api('metrics');
    $('metrics').replaceChildren(
      ...state.metrics.map((source) => {
        if (source.error)
          return el(
            'p',
            { className: 'metrics-source', dataset: { url: source.url } },
            `Not reachable: ${source.error}.`,
          );
        const states = Object.keys(source.tasks).sort();
        const { p50, p90, p99, count } = source.runtime;
        const bound = (value) => (value === null ? 'over the largest bucket' : `≤ ${value} s`);
        return el(
          'div',
          { className: 'metrics-source', dataset: { url: source.url } },
          el('h3', {}, source.url),
          states.length
            ? el(
                'table',
                {},
                el('caption', { className: 'visually-hidden' }, `Tasks by state at ${source.url}`),
                headRow('State', 'Tasks per second', 'Since the worker started'),
                el(
                  'tbody',
                  {},
                  states.map((name) =>
                    el(
                      'tr',
                      { dataset: { state: name } },
                      el('th', { scope: 'row' }, name),
                      el('td', { className: 'number' }, rate(source.tasksPerSecond?.[name])),
                      el('td', { className: 'number' }, String(source.tasks[name])),
                    ),
                  ),
                ),
              )
            : el('p', {}, 'No task has run yet.'),
          el(
            'p',
            {},
            count
              ? `Run time of the ${count} task(s) since it started: p50 ${bound(p50)}, p90 ${bound(p90)}, p99 ${bound(p99)}.`
              : 'No run time yet.',
          ),
        );
      }),
    );
  } catch (error) {
    $('metrics').replaceChildren(el('p', { className: 'error' }, error.message));
  }
  setTimeout(pollMetrics, METRICS_EVERY_MS);
}

async function pollSchedules() {
  try {
    const { schedules, error } = await api('schedules');
    if (error)
      $('schedules').replaceChildren(el('p', { className: 'error' }, `Could not read the schedules: ${error}`));
    else if (!schedules.length) $('schedules').replaceChildren(el('p', {}, 'This worker has no schedules.'));
    else {
      $('schedules').replaceChildren(
        el(
          'table',
          {},
          headRow('Schedule', 'Task', 'When', 'Next runs'),
          el(
            'tbody',
            {},
            schedules.map((schedule) =>
              el(
                'tr',
                {},
                el('th', { scope: 'row' }, schedule.name),
                el('td', {}, `${schedule.task} → ${schedule.queue}`),
                el('td', {}, `${schedule.expression}${schedule.timezone ? ` (${schedule.timezone})` : ''}`),
                el('td', {}, schedule.nextRuns.map((run) => new Date(run).toLocaleString()).join(', ') || 'none'),
              ),
            ),
          ),
        ),
      );
    }
  } catch (error) {
    $('schedules').replaceChildren(el('p', { className: 'error' }, error.message));
  }
  setTimeout(pollSchedules, SCHEDULES_EVERY_MS);
}

// ---- start ----------------------------------------------------------------------------------

document.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const { action, queue, task, errorType } = button.dataset;
  if (action === 'open') openGroup(queue, errorType, task);
  else confirmOperation({ action, queue, task });
});
$('close-letters').addEventListener('click', () => {
  $('letters-section').hidden = true;
  $('dead-letters').focus();
});
$('confirm-cancel').addEventListener('click', () => $('confirm').close());
$('confirm').addEventListener('close', () => {
  if ($('confirm').dataset.state === 'asking') return;
  // What was opened may have moved or gone: read again when asked.
  $('letters-section').hidden = true;
  listDeadLetters();
});

state.overview = await api('overview');
document.title = `${state.overview.worker} (${state.overview.env}): be-worker ui`;
$('worker').textContent = state.overview.worker;
$('env').textContent = `env ${state.overview.env}`;
$('env').classList.toggle('shared', state.overview.shared);
$('read-only').hidden = !state.overview.readOnly;
await pollStatus();
pollMetrics();
pollSchedules();
