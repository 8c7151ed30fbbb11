"""An SMTP sink that records, for every message it accepts, the recipient and the Message-ID (one line each, flushed
at once), so a crash test can count who received what. Usage: recording_sink.py PORT OUTFILE"""
import sys
import time

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self, path):
        self.out = open(path, "a", buffering=1)

    async def handle_DATA(self, server, session, envelope):
        message_id = b""
        for line in envelope.original_content.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                message_id = line.split(b":", 1)[1].strip()
                break
        for rcpt in envelope.rcpt_tos:
            self.out.write(f"{rcpt}\t{message_id.decode()}\n")
        return "250 2.0.0 recorded"


controller = Controller(Recorder(sys.argv[2]), hostname="127.0.0.1", port=int(sys.argv[1]), decode_data=False)
controller.start()
print("ready", flush=True)
try:
    sys.stdin.read()
finally:
    controller.stop()
