// The Node peer of benches/ws_flood.sh: reads the demo's `/ws/flood?count=N` with the `ws`
// client, parses each message as JSON and checks that `n` is the integer expected next (1, 2, …),
// then that the server closed with 1000 after exactly N messages.
//
//   node flood_client.js ws://127.0.0.1:PORT/ws/flood?count=N N
//
// Prints the count read; exits 1 at the first mismatch, saying what came.
'use strict';
const WebSocket = require('ws');

const [url, countArg] = process.argv.slice(2);
const count = Number(countArg);
let expected = 1;

function fail(why) {
  console.error(why);
  process.exit(1);
}

// No compression, as streamspec offers none.
const socket = new WebSocket(url, { perMessageDeflate: false });
socket.on('message', (data, isBinary) => {
  if (isBinary) fail(`message ${expected}: binary, not text`);
  const n = JSON.parse(data).n;
  if (!Number.isInteger(n) || n !== expected) fail(`message ${expected}: n is ${n}`);
  expected += 1;
});
socket.on('close', (code) => {
  if (code !== 1000) fail(`closed with ${code}, not 1000`);
  if (expected - 1 !== count) fail(`read ${expected - 1} messages, not ${count}`);
  console.log(expected - 1);
});
socket.on('error', (error) => fail(`error: ${error.message}`));
