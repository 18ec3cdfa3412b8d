"""The baseline host: the same framing (4-byte native-order length + UTF-8 JSON), standard library only.

It decodes each message and answers with it re-encoded (``hello`` gets a small hello reply), which is
the least any host speaking this protocol must do. Used by the round-trip and cold-start benchmarks.
"""

import json
import os
import struct
import sys

HEADER = struct.Struct("=I")


def main() -> int:
    stdin = sys.stdin.buffer
    out = os.dup(1)
    while True:
        header = stdin.read(4)
        if len(header) < 4:
            return 0
        (n,) = HEADER.unpack(header)
        msg = json.loads(stdin.read(n).decode("utf-8"))
        if msg.get("type") == "hello":
            reply = {"type": "hello", "id": msg.get("id"), "version": "echo", "protocol": 1}
        else:
            reply = msg
        payload = json.dumps(reply, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        data = HEADER.pack(len(payload)) + payload
        while data:
            data = data[os.write(out, data):]


if __name__ == "__main__":
    raise SystemExit(main())
