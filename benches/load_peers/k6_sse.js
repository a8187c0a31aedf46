// k6's side of benches/load.sh: each virtual user reads one SSE stream of the demo's ticker and
// checks every event's JSON, as `streamspec load` does. k6 has no SSE client: the body is read
// whole (k6 buffers it), then split into events.
import http from 'k6/http';
import { check } from 'k6';

export default function () {
  const res = http.get(`${__ENV.BASE}/sse/ticker?count=10&interval=200ms`, { timeout: '60s' });
  let events = 0;
  let good = true;
  for (const line of res.body.split('\n')) {
    if (line.startsWith('data:')) {
      const value = JSON.parse(line.slice(5));
      good = good && Number.isInteger(value.count) && Number.isInteger(value.timestamp);
      events += 1;
    }
  }
  check(res, { 'ten good events': () => good && events === 10 });
}
