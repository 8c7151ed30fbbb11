"""A real SMTP server for Vivier's tests (aiosmtpd): STARTTLS, AUTH, SMTPUTF8, PIPELINING.

Recipients whose address starts with "refused" are refused (550 5.1.1); a message to one starting with "spam" is
refused at its final dot (554 5.7.1). Every message is saved as <n>.eml (exactly the DATA bytes received,
dot-unstuffed) and <n>.json (envelope) in the output directory. Prints the listening port on stdout, then serves
until stdin closes.
Usage: smtp_peer.py OUTDIR [--tls CERT KEY] [--auth USER PASSWORD]
"""
import argparse
import json
import os
import socket
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Saver:
    def __init__(self, outdir):
        self.outdir = outdir
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # A mailbox that does not exist, to test refusals inside a pipelined envelope.
        if address.startswith("refused"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if any(address.startswith("spam") for address in envelope.rcpt_tos):
            return "554 5.7.1 message refused as spam"
        with self.lock:
            self.count += 1
            n = self.count
        with open(os.path.join(self.outdir, f"{n}.eml"), "wb") as f:
            f.write(envelope.original_content)
        with open(os.path.join(self.outdir, f"{n}.json"), "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos, "mail_options": envelope.mail_options,
                       "tls": session.ssl is not None, "auth": session.authenticated}, f)
        return "250 2.0.0 OK saved"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("outdir")
    parser.add_argument("--tls", nargs=2)
    parser.add_argument("--auth", nargs=2)
    args = parser.parse_args()

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    kwargs = {"decode_data": False, "enable_SMTPUTF8": True}
    if args.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*args.tls)
        kwargs.update(tls_context=context, require_starttls=True)
    if args.auth:
        user, password = args.auth

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
            return AuthResult(success=ok, handled=False)

        kwargs.update(authenticator=authenticator, auth_require_tls=bool(args.tls), auth_required=True)
    controller = Controller(Saver(args.outdir), hostname="127.0.0.1", port=port, server_hostname="localhost", **kwargs)
    controller.start()
    print(port, flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
