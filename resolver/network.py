"""HTTP(S) for the index listings, sdists and remote repomd.xml: one TLS context per process.

urllib's default opener makes a new SSL context for every connection, loading the system's CA
certificates each time (about 50 ms here; 25 s of a cold `render` of the shipped tree's 65 s);
one context, made on first use, serves every request. Proxies (``https_proxy``) and
``SSL_CERT_FILE`` are honoured as urllib's own opener honours them."""

from __future__ import annotations

import functools
import os
import ssl
import urllib.request
from typing import IO

from .errors import SourceError


def seconds_from_env(name: str, default: int) -> int:
    """A timeout the user may set in the environment (a positive whole number of seconds)."""
    value = os.environ.get(name, str(default))
    if not value.isdigit() or int(value) == 0:
        raise SourceError(f"{name}={value!r}: give a positive whole number of seconds")
    return int(value)


def network_timeout() -> int:
    """Seconds a download or a git transfer may stall before it is given up (RESOLVER_NET_TIMEOUT)."""
    return seconds_from_env("RESOLVER_NET_TIMEOUT", 30)


@functools.cache
def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.HTTPSHandler(context=ssl.create_default_context()))


def open_url(url: str | urllib.request.Request) -> IO[bytes]:
    """``urllib.request.urlopen`` with the process's one TLS context and the stall timeout
    (same errors, same response)."""
    response: IO[bytes] = _opener().open(url, timeout=network_timeout())
    return response
