import type { FastifyReply, FastifyRequest } from 'fastify';
import { isTerminal, type Job } from '../../jobs/index.js';
import type { JobStatusBody } from '../schemas/response.js';

export const SSE_HEARTBEAT_MS = 15_000;

/**
 * Stream a job's changes as Server-Sent Events on the raw response: `state` (the full status) first, then
 * `progress` ({id, state, progress}) on every progress change, `state` on every state change and whenever a
 * queued job moves up (its `queue_position`); the stream ends after the terminal state. A comment line every
 * 15 s keeps proxies from closing an idle stream.
 */
export function streamJobEvents(job: Job, request: FastifyRequest, reply: FastifyReply, status: (job: Job) => JobStatusBody): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
  });
  let seq = 0;
  let ended = false;
  const send = (event: string, data: unknown): void => {
    if (ended) return;
    res.write(`id: ${++seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const heartbeat = setInterval(() => {
    if (!ended) res.write(': keep-alive\n\n');
  }, SSE_HEARTBEAT_MS);
  heartbeat.unref();
  let unsubscribe: () => void = () => undefined;
  const end = (): void => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    unsubscribe();
    res.end();
  };
  res.on('close', () => {
    if (!ended) {
      ended = true;
      clearInterval(heartbeat);
      unsubscribe();
    }
  });

  send('state', status(job));
  if (isTerminal(job.state)) {
    end();
    return;
  }
  unsubscribe = job.subscribe((event) => {
    if (event.type === 'progress') {
      const p = event.progress;
      send('progress', { id: job.id, state: job.state, progress: { stage: p.stage, step: p.step, total_steps: p.totalSteps } });
      return;
    }
    send('state', status(job));
    if (event.type === 'state' && isTerminal(event.state)) end();
  });
}
