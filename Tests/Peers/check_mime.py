"""Parses one message (stdin) with Python's email package (policy.default) and prints what a client would see, as
JSON: defects of every part, decoded headers, text parts, attachments (name, type, SHA-256)."""
import email
import hashlib
import json
import sys
from email import policy

raw = sys.stdin.buffer.read()
message = email.message_from_bytes(raw, policy=policy.default)
out = {"defects": [], "headers": {}, "parts": [], "attachments": []}
for name in ("From", "To", "Reply-To", "Subject", "Message-ID", "Date", "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version"):
    if message[name] is not None:
        out["headers"][name] = str(message[name]).encode("utf-8", "surrogateescape").decode("utf-8")


def text(value):
    """Raw UTF-8 (RFC 6532) reaches Python as surrogate escapes: turn it back into characters."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8")


def addresses(name):
    return [[text(a.display_name), text(a.addr_spec)] for a in message[name].addresses] if message[name] else []


out["from_addresses"] = addresses("From")
out["to_addresses"] = addresses("To")
out["content_type"] = message.get_content_type()
for part in message.walk():
    out["defects"] += [type(d).__name__ + ": " + str(d) for d in part.defects]
    if part.is_multipart():
        continue
    if part.get_content_disposition() == "attachment":
        payload = part.get_payload(decode=True)
        out["attachments"].append({"filename": part.get_filename(), "type": part.get_content_type(),
                                   "sha256": hashlib.sha256(payload).hexdigest()})
    else:
        out["parts"].append({"type": part.get_content_type(), "content": part.get_content(),
                             "params": dict(part.get_params() or [])})
print(json.dumps(out))
