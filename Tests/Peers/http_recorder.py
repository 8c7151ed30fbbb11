"""A stand-in for an HTTP API (SMS providers): records every request as a JSON line and answers with the status
named by the first path segment (`/s500/...` answers 500; anything else 201) and a small JSON body. `/r302/...`
redirects to the cloud metadata address, for the webhook SSRF checks."""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = open(sys.argv[1], "a", buffering=1)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8")
        log.write(json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                              "body": body}) + "\n")
        first = self.path.split("/")[1] if self.path.count("/") > 1 else ""
        if first == "r302":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status = int(first[1:]) if first.startswith("s") and first[1:].isdigit() else 201
        answer = json.dumps({"sid": "SM0001", "messageId": 1511882900176220} if status < 300
                            else {"message": "refused by the test peer"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def exit_with_parent():
    """The test holds our stdin open; when it ends (or crashes), so do we."""
    sys.stdin.read()
    os._exit(0)


threading.Thread(target=exit_with_parent, daemon=True).start()
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
