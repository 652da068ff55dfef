"""An MLLP server from another project (python-hl7, Debian's python3-hl7) for Lujing's
interoperability test: it acknowledges every message with python-hl7's own ACK (AA) and
prints the control id it received. Usage: python3 hl7_server.py; it prints "port N" once
listening on 127.0.0.1."""
import asyncio
import sys

import hl7
from hl7.mllp import start_hl7_server


async def process(reader, writer):
    try:
        while not writer.is_closing():
            msg = await reader.readmessage()
            print("received", str(msg.segment("MSH")[10]), flush=True)
            writer.writemessage(msg.create_ack())
            await writer.drain()
    except asyncio.IncompleteReadError:
        if not writer.is_closing():
            writer.close()
            await writer.wait_closed()


async def main():
    server = await start_hl7_server(process, host="127.0.0.1", port=0, encoding="utf-8")
    print("port", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
