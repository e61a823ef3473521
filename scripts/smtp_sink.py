"""A real SMTP server for the tests: accepts every message on 127.0.0.1 and writes each one to
a folder as <n>.eml plus <n>.json (envelope sender and recipients), so tests can read exactly what
was sent. A recipient whose address starts with "refuse" is answered 550 (a permanent refusal), so
tests can see how the job takes an SMTP server that says no. Usage: smtp_sink.py PORT FOLDER"""

import asyncio
import json
import pathlib
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder: pathlib.Path):
        self.folder = folder
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("refuse"):
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        stem = f"{time.time_ns()}-{self.count}"
        (self.folder / f"{stem}.eml").write_bytes(envelope.original_content or envelope.content)
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}
        # Write the envelope last: its presence means the message is complete.
        tmp = self.folder / f"{stem}.json.partial"
        tmp.write_text(json.dumps(meta))
        tmp.rename(self.folder / f"{stem}.json")
        return "250 Message accepted for delivery"


def main() -> None:
    port, folder = int(sys.argv[1]), pathlib.Path(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(Sink(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"smtp sink on 127.0.0.1:{port} -> {folder}", flush=True)
    try:
        asyncio.get_event_loop().run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
