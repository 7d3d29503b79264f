"""Where an embedded store's server listens: its runtime directory and socket name.

Kept apart from :mod:`liqcli.store.embedded` (which starts, watches and stops servers, and
imports much more) so that a one-shot report can find the socket of a store whose server is
already running, and read it on the fast path, without importing anything heavy: no redis-py,
no platformdirs, no tempfile (unless the runtime directory falls back to the temp directory and
``TMPDIR``/``TEMP``/``TMP`` is set), no hashlib. :mod:`liqcli.store.embedded` uses the same
functions, so both always agree on the names.
"""

from __future__ import annotations

import os
import sys

RUNTIME_ENV = "LIQCLI_RUNTIME_DIR"
EMBEDDED = "embedded:"
DEFAULT_FILE = "liqcli.rdb"


def runtime_base() -> str:
    """The runtime directory's path, not created or checked: ``LIQCLI_RUNTIME_DIR``, else
    ``$XDG_RUNTIME_DIR/liqcli``, else ``<tmp>/liqcli-<uid>``."""
    override = os.environ.get(RUNTIME_ENV)
    if override:
        return override
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return os.path.join(xdg, "liqcli")
    if any(os.environ.get(name) for name in ("TMPDIR", "TEMP", "TMP")) or os.name != "posix":
        import tempfile

        tmp = tempfile.gettempdir()
    else:
        tmp = _posix_tempdir()
    return os.path.join(tmp, f"liqcli-{os.getuid()}")


def _posix_tempdir() -> str:
    """``tempfile.gettempdir()`` without importing tempfile, when no variable names it: the
    first of its POSIX candidates that is a writable directory (tempfile checks by writing a
    file, which is what ``os.access`` answers for the owner here)."""
    for candidate in ("/tmp", "/var/tmp", "/usr/tmp"):
        if os.path.isdir(candidate) and os.access(candidate, os.W_OK | os.X_OK):
            return candidate
    import tempfile

    return tempfile.gettempdir()


def store_key(path: str) -> str:
    """The name of a store's files in the runtime directory: a hash of its absolute path."""
    try:  # the built-in SHA-256 (hashlib would load OpenSSL first)
        from _sha256 import sha256  # type: ignore[import-not-found]  # Python 3.11
    except ImportError:
        try:
            from _sha2 import sha256  # type: ignore[import-not-found]  # Python >= 3.12
        except ImportError:
            from hashlib import sha256
    digest: str = sha256(path.encode()).hexdigest()
    return digest[:16]


def default_store_file() -> str | None:
    """The default store's file as ``platformdirs.user_data_path("liqcli") / "liqcli.rdb"``
    gives it, on Linux when ``XDG_DATA_HOME`` or ``HOME`` is an absolute path; None elsewhere or
    otherwise (the caller then asks platformdirs: a test checks both agree)."""
    if sys.platform != "linux":
        return None
    base = os.environ.get("XDG_DATA_HOME", "")
    if not base.startswith("/"):
        home = os.environ.get("HOME", "")
        if not home.startswith("/"):
            return None
        base = os.path.expanduser("~/.local/share")
    return os.path.normpath(os.path.join(base, "liqcli", DEFAULT_FILE))


def store_file(url: str | None) -> str | None:
    """The absolute data file of ``embedded:PATH`` (``url``) or of the default store (None);
    None when it cannot be told cheaply (see :func:`default_store_file`)."""
    if url is None:
        path = default_store_file()
        if path is None:
            return None
    elif url.startswith(EMBEDDED):
        path = os.path.expanduser(url[len(EMBEDDED):])
    else:
        return None
    if os.path.isdir(path):  # as connection.embedded_path: a directory holds liqcli.rdb
        path = os.path.join(path, DEFAULT_FILE)
    return os.path.abspath(path)


def running_socket(url: str | None) -> str | None:
    """The unix socket of the embedded store ``url`` (None: the default store) when its server
    may be running: the socket file exists in a runtime directory that is the user's own with
    mode 700. None otherwise, or when unsure: the full path then starts or refuses it."""
    path = store_file(url)
    if path is None:
        return None
    base = runtime_base()
    try:
        info = os.stat(base)
    except OSError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    sock = os.path.join(base, f"{store_key(path)}.sock")
    return sock if os.path.exists(sock) else None
