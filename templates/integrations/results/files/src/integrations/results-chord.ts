// The chord counter of Celery's Redis result backend, kept exactly as Celery keeps it
// (celery/backends/redis.py `on_chord_part_return`), so that Python and TypeScript header tasks of
// one chord count on one counter:
//   celery-taskset-meta-<group>.s   the chord's size, set by the Python caller (`set_chord_size`)
//   celery-taskset-meta-<group>.t   parts added later (`add_to_chord`, a task replaced by a group)
//   celery-taskset-meta-<group>.j   each part's JSON [1, task id, state, result], in a sorted set
//                                   scored by its group_index (a list when the fleet sets
//                                   result_chord_ordered=False, which this follows when it finds one)
// The part that brings .j's count to .s + .t completes the chord. One Lua script adds a part, counts
// and reads the parts, so two last parts at once cannot both complete it, nor none.
import type { Redis } from 'ioredis';
import type { CeleryMessage } from '../runtime/codec.ts';
import { whenConnected } from '../runtime/connecting.ts';
import {
  type CeleryState,
  type ChordReady,
  encodeFailure,
  type Outcome,
  TaskFailedError,
} from '../runtime/result-backend.ts';

/** Celery's group_keyprefix (the chord's keys add .j, .t, .s to it). */
const GROUP_PREFIX = 'celery-taskset-meta-';
/** Celery's states whose result is an exception that fails the chord (PROPAGATE_STATES). */
const PROPAGATE_STATES: ReadonlySet<CeleryState> = new Set(['FAILURE', 'REVOKED']);

// A part delivered again (its worker crashed after counting it, before its message was deleted)
// replaces what it added before: Celery keys the sorted set by the encoded result alone, so a
// second run whose result differs would count twice and complete the chord early. Its place in the
// set is its group_index, so only the members there are looked at.
const PART_RETURN = `
local joined, added, size = KEYS[1], KEYS[2], KEYS[3]
local member, score, id, expires = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local ordered = redis.call('TYPE', joined).ok ~= 'list'
local ready
if ordered then
  for _, old in ipairs(redis.call('ZRANGEBYSCORE', joined, score, score)) do
    local ok, part = pcall(cjson.decode, old)
    if ok and type(part) == 'table' and part[2] == id then redis.call('ZREM', joined, old) end
  end
  redis.call('ZADD', joined, score, member)
  ready = redis.call('ZCARD', joined)
else
  redis.call('RPUSH', joined, member)
  ready = redis.call('LLEN', joined)
end
if expires > 0 then
  redis.call('EXPIRE', joined, expires)
  redis.call('EXPIRE', added, expires)
  redis.call('EXPIRE', size, expires)
end
local chordSize = redis.call('GET', size)
if not chordSize then return {ready, false, false} end
local total = tonumber(chordSize) + tonumber(redis.call('GET', added) or '0')
if ready ~= total then return {ready, total, false} end
if ordered then return {ready, total, redis.call('ZRANGE', joined, 0, -1)} end
return {ready, total, redis.call('LRANGE', joined, 0, total)}
`;

export interface ChordCounterOptions {
  /** Celery's result_expires: the chord's keys expire with the results (none when 0). */
  expiresSeconds: number;
  /** Celery's global_keyprefix, prepended to every key. */
  keyPrefix?: string;
  /** How a value is written as JSON (the backend's encoding); JSON.stringify by default. */
  encode?(value: unknown): string;
}

export interface ChordCounter {
  chordPartReturn(request: CeleryMessage, outcome: Outcome): Promise<ChordReady | undefined>;
  chordDone(request: CeleryMessage): Promise<void>;
}

export function chordKeys(group: string, keyPrefix = '') {
  const base = `${keyPrefix}${GROUP_PREFIX}${group}`;
  return { joined: `${base}.j`, added: `${base}.t`, size: `${base}.s` };
}

export function redisChordCounter(redis: Redis, options: ChordCounterOptions): ChordCounter {
  const encode = options.encode ?? JSON.stringify;
  const keysOf = (request: CeleryMessage) => {
    const { joined, added, size } = chordKeys(String(request.headers.group), options.keyPrefix);
    return [joined, added, size];
  };
  return {
    async chordPartReturn(request, outcome) {
      if (!request.headers.group || !request.id) return undefined;
      const index = request.headers.group_index;
      const score = Number.isSafeInteger(index) ? String(index) : '+inf';
      const result = outcome.state === 'SUCCESS' ? outcome.value : encodeFailure(outcome.error);
      // As Celery's worker counts an expired part: REVOKED.
      const revoked = outcome.state === 'FAILURE' && outcome.error.name === 'TaskRevokedError';
      const member = encode([1, request.id, revoked ? 'REVOKED' : outcome.state, result]);
      const expires = String(Math.max(0, Math.trunc(options.expiresSeconds)));
      await whenConnected(redis, CONNECT_TIMEOUT_MS);
      const [, , parts] = (await redis.eval(
        PART_RETURN,
        3,
        ...keysOf(request),
        member,
        score,
        request.id,
        expires,
      )) as [number, number | null, string[] | null];
      return parts ? readyOf(parts) : undefined;
    },
    async chordDone(request) {
      await whenConnected(redis, CONNECT_TIMEOUT_MS);
      await redis.del(...keysOf(request));
    },
  };
}

/** How long a part waits for a connection that is being made. */
const CONNECT_TIMEOUT_MS = 5000;

/** The body's argument (the results in order), or the first part that failed, as Celery reads them. */
function readyOf(parts: readonly string[]): ChordReady {
  const results: unknown[] = [];
  for (const part of parts) {
    const [, taskId, state, result] = JSON.parse(part) as [unknown, string, CeleryState, unknown];
    if (PROPAGATE_STATES.has(state)) {
      const meta = { status: state, result, traceback: null, children: [], date_done: null, task_id: taskId };
      return { failed: { taskId, error: new TaskFailedError(meta) } };
    }
    results.push(result);
  }
  return { results };
}
