"""Reads a ZIP archive from stdin with Python's zipfile: prints each entry's name, size and content SHA-256, and
the result of the CRC check, as JSON."""
import hashlib
import io
import json
import sys
import zipfile

archive = zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read()))
print(json.dumps({
    "bad": archive.testzip(),
    "entries": [
        {"name": info.filename, "size": info.file_size, "sha256": hashlib.sha256(archive.read(info)).hexdigest(),
         "utf8": bool(info.flag_bits & 0x800), "date": list(info.date_time)}
        for info in archive.infolist()
    ],
}))
