// The Node peer of benches/flood.sh: reads the demo's `/sse/flood?count=N` with Node's fetch,
// decodes it with eventsource-parser, parses each event's data as JSON and checks that `seq` is
// an integer (what streamspec's spec `N times { data: json { "seq": integer } }` checks), then
// that exactly N events came.
//
//   node flood_client.js http://127.0.0.1:PORT/sse/flood?count=N N
//
// Prints the count read; exits 1 at the first mismatch, saying what came.
import { createParser } from 'eventsource-parser';

const [url, countArg] = process.argv.slice(2);
const count = Number(countArg);
let events = 0;

function fail(why) {
  console.error(why);
  process.exit(1);
}

const parser = createParser({
  onEvent(event) {
    events += 1;
    const seq = JSON.parse(event.data).seq;
    if (!Number.isInteger(seq)) fail(`event ${events}: seq is ${seq}`);
  },
  onError(error) {
    fail(`event ${events + 1}: ${error.message}`);
  },
});

const response = await fetch(url);
if (response.status !== 200) fail(`status ${response.status}`);
const decoder = new TextDecoder();
for await (const chunk of response.body) {
  parser.feed(decoder.decode(chunk, { stream: true }));
}
parser.feed(decoder.decode());
if (events !== count) fail(`read ${events} events, not ${count}`);
console.log(events);
