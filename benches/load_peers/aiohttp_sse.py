"""Python's side of benches/load.sh: USERS asyncio tasks, each reading one SSE stream of the
demo's ticker with aiohttp line by line and checking every event's JSON."""
import asyncio
import json
import sys

import aiohttp


async def user(session, url, failures):
    events = 0
    async with session.get(url) as response:
        async for line in response.content:
            if line.startswith(b"data:"):
                value = json.loads(line[5:])
                if not (isinstance(value["count"], int) and isinstance(value["timestamp"], int)):
                    failures.append(value)
                events += 1
    if events != 10:
        failures.append(events)


async def main(base, users):
    url = f"{base}/sse/ticker?count=10&interval=200ms"
    failures = []
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(user(session, url, failures) for _ in range(users)))
    if failures:
        print(f"{len(failures)} failures", file=sys.stderr)
        sys.exit(1)


asyncio.run(main(sys.argv[1], int(sys.argv[2])))
