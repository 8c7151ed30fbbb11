"""Verifies every DKIM-Signature of one message (stdin) with dkimpy, offline: the TXT records are given as
arguments `selector._domainkey.domain=v=DKIM1; ...`. Prints one line per signature: 'pass' or 'fail'."""
import sys

import dkim

records = {}
for arg in sys.argv[1:]:
    name, _, value = arg.partition("=")
    records[name.encode()] = value.encode()


def dnsfunc(name, timeout=5):
    return records.get(name.rstrip(b".") if isinstance(name, bytes) else name.rstrip(".").encode())


message = sys.stdin.buffer.read()
d = dkim.DKIM(message)
count = message.count(b"DKIM-Signature:")
for index in range(count):
    try:
        ok = d.verify(idx=index, dnsfunc=dnsfunc)
    except dkim.ValidationError as error:
        print(f"invalid: {error}", file=sys.stderr)
        ok = False
    print("pass" if ok else "fail")
