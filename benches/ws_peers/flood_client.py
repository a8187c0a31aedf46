"""The Python peer of benches/ws_flood.sh: reads the demo's `/ws/flood?count=N` with the
`websockets` client (asyncio), parses each message as JSON and checks that `n` is the integer
expected next (1, 2, …), then that the server closed with 1000 after exactly N messages.

    python3 flood_client.py ws://127.0.0.1:PORT/ws/flood?count=N N

Prints the count read; exits 1 at the first mismatch, saying what came.
"""

import asyncio
import json
import sys

from websockets.asyncio.client import connect


async def read(url, count):
    expected = 1
    # No compression, as streamspec offers none; no size limit below the demo's own.
    async with connect(url, compression=None, max_size=2**20) as socket:
        async for message in socket:
            if not isinstance(message, str):
                sys.exit(f"message {expected}: binary, not text")
            n = json.loads(message).get("n")
            if type(n) is not int or n != expected:
                sys.exit(f"message {expected}: n is {n!r}")
            expected += 1
        code = socket.close_code
    if code != 1000:
        sys.exit(f"closed with {code}, not 1000")
    if expected - 1 != count:
        sys.exit(f"read {expected - 1} messages, not {count}")
    print(expected - 1)


asyncio.run(read(sys.argv[1], int(sys.argv[2])))
