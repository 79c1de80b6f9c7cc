"""A passphrase-sealed stream, for backups: scrypt, then the STREAM construction of age.

A backup is the whole attendee list. One sealed with a passphrase can leave the server: it
cannot be read without the passphrase, and any change to it is found before anything is
restored. The file is::

    MAGIC              25 bytes   b"sala-backup/encrypted/v1\\n"
    log2 N, r, p        3 bytes   scrypt's parameters (a reader accepts them within limits)
    salt               16 bytes   random: every file has keys of its own
    header MAC         32 bytes   HMAC-SHA256 of everything above
    chunks                        64 KiB of plaintext each, sealed with ChaCha20-Poly1305 (+16)

scrypt turns the passphrase and the salt into a key, and HKDF-SHA256 splits that into the
header's MAC key and the payload key; the MAC tells a wrong passphrase (or a changed header)
from a damaged body. As in age's payload (https://age-encryption.org/v1), a chunk's nonce is
its number (11 bytes, big-endian) and a last-chunk flag (1 byte): a chunk changed, moved,
dropped or repeated, a file cut short (even at a chunk boundary) or anything appended after
the last chunk fails to open. Every chunk but the last is full; the last is empty only when
the whole plaintext is. Writer and reader hold one or two chunks, never the whole file.

The errors here are this format's own (:class:`WrongKey`, :class:`Broken`);
``sala.backup`` turns them into the messages an operator reads.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import unicodedata
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"sala-backup/encrypted/v1\n"
CHUNK = 64 * 1024
TAG = 16
SEALED_CHUNK = CHUNK + TAG
SALT = 16
MAC = 32
# scrypt with N = 2**17, r = 8: 128 MiB and about 0.3 s on the servers we run on, once a file.
WORK_FACTOR = 17
BLOCK_SIZE = 8
PARALLELISM = 1
# What a reader accepts: a forged header must not make it spend gigabytes.
WORK_FACTORS = range(10, 19)
HEADER = len(MAGIC) + 3 + SALT


class SealError(Exception):
    """A sealed stream could not be opened."""


class WrongKey(SealError):
    """The header's MAC does not match: a wrong passphrase, or a changed header."""


class Broken(SealError):
    """The body is damaged, cut short, reordered or extended, or the header is malformed."""


def is_sealed(prefix: bytes) -> bool:
    """Whether a file starting with ``prefix`` (at least ``len(MAGIC)`` bytes) is sealed."""
    return prefix.startswith(MAGIC)


def _keys(passphrase: str, salt: bytes, work_factor: int, r: int, p: int) -> tuple[bytes, bytes]:
    """(header MAC key, payload key). The passphrase is NFC-normalised: the same words typed
    on two keyboards (Khmer vowels can be entered in more than one order of code points that
    normalise alike) give the same key."""
    secret = unicodedata.normalize("NFC", passphrase).encode()
    master = Scrypt(salt=salt, length=32, n=2**work_factor, r=r, p=p).derive(secret)
    mac_key = HKDF(SHA256(), length=32, salt=None, info=b"sala-backup header").derive(master)
    payload_key = HKDF(SHA256(), length=32, salt=None, info=b"sala-backup payload").derive(master)
    return mac_key, payload_key


def _nonce(counter: int, *, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _read_exactly(source: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes; fewer only at the end of the file."""
    parts: list[bytes] = []
    wanted = size
    while wanted:
        part = source.read(wanted)
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


class SealedWriter:
    """Seals what is written to it into ``sink``; :meth:`close` seals the last chunk (and
    must be called: a stream without its last chunk does not open)."""

    def __init__(self, sink: BinaryIO, passphrase: str, *, work_factor: int = WORK_FACTOR):
        salt = os.urandom(SALT)
        header = MAGIC + bytes([work_factor, BLOCK_SIZE, PARALLELISM]) + salt
        mac_key, payload_key = _keys(passphrase, salt, work_factor, BLOCK_SIZE, PARALLELISM)
        sink.write(header + hmac.digest(mac_key, header, hashlib.sha256))
        self._sink = sink
        self._aead = ChaCha20Poly1305(payload_key)
        self._buffer = bytearray()
        self._counter = 0
        self._closed = False

    def write(self, data: bytes) -> int:
        self._buffer += data
        # Strictly more than a chunk: the last one (full or not) is sealed by close().
        while len(self._buffer) > CHUNK:
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def flush(self) -> None:
        """Nothing to do: a chunk is written once it is full (``gzip`` calls this)."""

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()

    def _seal(self, plaintext: bytes, *, last: bool) -> None:
        nonce = _nonce(self._counter, last=last)
        self._sink.write(self._aead.encrypt(nonce, plaintext, None))
        self._counter += 1


class SealedReader:
    """The plaintext of a sealed ``source``, chunk by chunk, as a readable file object.

    Opening checks the passphrase (:class:`WrongKey`); reading raises :class:`Broken` at the
    first chunk that does not open. What was read before is authentic, but only
    :meth:`finish` (reading to the end) proves the stream was not cut short.
    """

    def __init__(self, source: BinaryIO, passphrase: str) -> None:
        header = _read_exactly(source, HEADER)
        if not is_sealed(header) or len(header) < HEADER:
            raise Broken("not a sealed stream, or its header is cut short")
        work_factor, r, p = header[len(MAGIC) : len(MAGIC) + 3]
        if work_factor not in WORK_FACTORS or r != BLOCK_SIZE or not 1 <= p <= 4:
            raise Broken("scrypt parameters out of bounds")
        mac = _read_exactly(source, MAC)
        mac_key, payload_key = _keys(passphrase, header[-SALT:], work_factor, r, p)
        if not hmac.compare_digest(mac, hmac.digest(mac_key, header, hashlib.sha256)):
            raise WrongKey("the header's MAC does not match")
        self._source = source
        self._aead = ChaCha20Poly1305(payload_key)
        self._counter = 0
        self._next = _read_exactly(source, SEALED_CHUNK)
        if not self._next:
            raise Broken("no chunk after the header")
        self._plain = bytearray()
        self._done = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._plain) < size):
            self._open_next()
        if size < 0 or size >= len(self._plain):
            size = len(self._plain)
        data = bytes(self._plain[:size])
        del self._plain[:size]
        return data

    def finish(self) -> None:
        """Open every chunk left (dropping their plaintext) up to the last one."""
        while not self._done:
            self._open_next()
            self._plain.clear()

    def _open_next(self) -> None:
        sealed = self._next
        self._next = _read_exactly(self._source, SEALED_CHUNK)
        last = not self._next
        try:
            plain = self._aead.decrypt(_nonce(self._counter, last=last), sealed, None)
        except InvalidTag as exc:
            raise Broken(f"chunk {self._counter} does not open") from exc
        if last and not plain and self._counter:
            raise Broken("an empty last chunk after full ones")
        self._counter += 1
        self._plain += plain
        self._done = last
