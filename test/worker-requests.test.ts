// Questions to workers (targeted messages, expulsions): answers add up, a silent or dead worker is not
// waited for, and an expulsion ends streams only after every worker has noted it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Expulsions, type ExpelMessage, type NoteExpelledMessage } from '../src/primary/expulsions.js';
import { WorkerRequests } from '../src/primary/worker-requests.js';

test('answers add up; late, repeated and unasked answers are ignored', async () => {
  const requests = new WorkerRequests(10_000);
  const asked: Array<[number, number]> = [];
  const answer = requests.ask([1, 2, 3], (worker, id) => {
    asked.push([worker, id]);
    return worker !== 3; // worker 3 is gone: not waited for
  });
  const id = asked[0]![1];
  requests.answer(1, id, 4);
  requests.answer(1, id, 4);
  requests.answer(7, id, 100);
  requests.answer(2, id, 5);
  assert.equal(await answer, 9);
  requests.answer(2, id, 5);
});

test('a worker that dies or stays silent counts as 0', async () => {
  const requests = new WorkerRequests(50);
  const gone = requests.ask([1, 2], () => true);
  requests.answer(1, 1, 2);
  requests.workerGone(2);
  assert.equal(await gone, 2);
  const silent = requests.ask([1], () => true);
  assert.equal(await silent, 0);
  assert.equal(await requests.ask([1], () => false), 0);
});

test('an expulsion ends the stream only after every worker noted the session', async () => {
  const sent: Array<[number, NoteExpelledMessage | ExpelMessage]> = [];
  const expulsions = new Expulsions({ ids: () => [1, 2], send: (worker, message) => (sent.push([worker, message]), true) }, 10_000);
  const done = expulsions.expel(['s1']);
  assert.deepEqual(sent.map(([worker, m]) => [worker, m.type]), [[1, 'note-expelled'], [2, 'note-expelled']]);
  const id = (sent[0]![1] as NoteExpelledMessage).id;
  assert.notEqual(id, 0);
  expulsions.noted(1, id);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(sent.length, 2, 'no stream ends while a worker has not noted it');
  expulsions.noted(2, id);
  await done;
  assert.deepEqual(sent.slice(2), [[1, { type: 'expel', sessions: ['s1'] }], [2, { type: 'expel', sessions: ['s1'] }]]);

  sent.length = 0;
  expulsions.note(['s2']);
  assert.deepEqual(sent, [[1, { type: 'note-expelled', id: 0, sessions: ['s2'] }], [2, { type: 'note-expelled', id: 0, sessions: ['s2'] }]]);
});
