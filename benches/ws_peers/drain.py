"""The ceiling of benches/ws_flood.sh: how fast the demo sends `/ws/flood?count=N`. Does the
WebSocket handshake by hand, then reads the bytes without parsing a frame until the server's
close frame (code 1000), which it answers.

    python3 drain.py 127.0.0.1 PORT /ws/flood?count=N

Prints the bytes read after the handshake; exits 1 when the server refuses or ends otherwise.
"""

import base64
import os
import socket
import sys

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
key = base64.b64encode(os.urandom(16)).decode()
connection = socket.create_connection((host, port))
connection.sendall(
    f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
)
head = b""
while b"\r\n\r\n" not in head:
    chunk = connection.recv(4096)
    if not chunk:
        sys.exit("the server closed during the handshake")
    head += chunk
status = head.split(b"\r\n", 1)[0]
if status.split()[1:2] != [b"101"]:
    sys.exit(f"handshake refused: {status.decode(errors='replace')}")
tail = head.split(b"\r\n\r\n", 1)[1]
total = len(tail)
# A close frame with code 1000 and no reason. The messages are ASCII text, so these bytes (0x88
# is no ASCII) end the stream only as the server's close frame; the client then answers it (with
# a zero mask), as the server waits for that answer before it ends the connection.
CLOSE = b"\x88\x02\x03\xe8"
buffer = bytearray(1 << 20)
view = memoryview(buffer)
while tail[-4:] != CLOSE:
    got = connection.recv_into(view)
    if not got:
        sys.exit(f"the connection ended without close 1000: last bytes {tail[-4:].hex()}")
    total += got
    tail = (tail[-4:] + bytes(view[max(0, got - 4) : got]))[-4:]
connection.sendall(b"\x88\x82\x00\x00\x00\x00\x03\xe8")
print(total)
