"""Root certificates from PEM files for ``rootsentinel policy --allow-root-pem`` / ``--ban-root-pem``.

A file is hostile input: read only if it is a regular file, at most :data:`MAX_PEM_FILE_BYTES`, every
certificate in it checked as one readable X.509 certificate (:func:`native_host.engine.policyroots.root_from_pem`,
the check the host makes of ``allow_roots_pem`` and ``banned[].pem``), duplicates dropped, names escaped in
every message. Errors are :class:`~native_host.install.model.InstallError` with one line naming the file.
"""

from __future__ import annotations

import base64
import os

from native_host.install.model import InstallError
from native_host.textsafe import escape

MAX_PEM_FILE_BYTES = 1 << 20
"""Bytes of one ``--allow-root-pem`` / ``--ban-root-pem`` file at most (a root is 1-2 KB)."""


def root_pems(path: str, warnings: list[str] | None = None) -> list[str]:
    """The PEM text of each distinct certificate in the file ``path`` (a bundle gives several), for the managed
    settings' ``allow_roots_pem`` / ``banned[].pem``; a certificate that says it is not a CA
    (basicConstraints CA:FALSE: it can anchor no chain) adds a line to ``warnings`` (the caller shows them).

    Raises:
        InstallError: no path, not a regular file, unreadable, over :data:`MAX_PEM_FILE_BYTES`, no
            ``CERTIFICATE`` block, or a block that is not a readable certificate (one line, naming the file).
    """
    import stat

    from native_host.engine.certfacts import pem_blocks
    from native_host.engine.policyroots import root_from_pem
    from native_host.errors import BadDER, SchemaError

    shown = escape(path)
    if not path:
        raise InstallError("no file given before '=' (give the root certificate's PEM file)")
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat of the very file then read
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise InstallError(f"{shown}: not a regular file")
            data = fh.read(MAX_PEM_FILE_BYTES + 1)
    except OSError as exc:
        raise InstallError(f"{shown}: cannot read: {exc.strerror}") from None
    if len(data) > MAX_PEM_FILE_BYTES:
        raise InstallError(f"{shown}: over {MAX_PEM_FILE_BYTES // 1024} KiB; a root certificate is 1-2 KB")
    try:
        ders = [der for label, der in pem_blocks(data) if label == "CERTIFICATE"]
    except BadDER as exc:
        raise InstallError(f"{shown}: {exc}") from None
    if not ders:
        raise InstallError(f"{shown}: no '-----BEGIN CERTIFICATE-----' block (give the root certificate as PEM)")
    out: list[str] = []
    seen: set[bytes] = set()
    for n, der in enumerate(ders, 1):
        if der in seen:
            continue
        seen.add(der)
        b64 = base64.b64encode(der).decode("ascii")
        lines = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
        text = f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n"
        try:
            root_from_pem(text, f"{shown}, certificate {n}")
        except SchemaError as exc:
            raise InstallError(str(exc)) from None
        if says_not_a_ca(der) and warnings is not None:
            warnings.append(f"{shown}, certificate {n}: not a CA (basicConstraints CA:FALSE): it can anchor no chain")
        out.append(text)
    return out


def says_not_a_ca(der: bytes) -> bool:
    """Whether the certificate carries basicConstraints with CA:FALSE (an old root without the extension is a CA)."""
    import warnings

    from cryptography import x509

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cert = x509.load_der_x509_certificate(der)
        try:
            return not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except (x509.ExtensionNotFound, ValueError):
            return False


def ban_pems(value: str, warnings: list[str] | None = None) -> list[dict]:
    """``FILE[=REASON]`` -> one banned entry per certificate in FILE (raises InstallError like :func:`root_pems`).
    A file name may hold ``=``: the first split whose left part is an existing file wins."""
    path, _, reason = value.partition("=")
    for i, ch in enumerate(value):
        if ch == "=" and os.path.isfile(value[:i]):
            path, reason = value[:i], value[i + 1:]
            break
    else:
        if os.path.isfile(value):
            path, reason = value, ""
    return [{"pem": pem, "reason": reason or "banned by policy"} for pem in root_pems(path, warnings)]


def public_root_warning(settings: dict) -> str | None:
    """A warning when banned PEMs include public roots (every site they anchor would be banned), else None."""
    from native_host.engine.certfacts import cert_facts, pem_blocks
    from native_host.engine.publicroots import store

    public = store()
    names = []
    for entry in settings.get("banned", ()):
        if "pem" in entry:
            facts = cert_facts(next(der for label, der in pem_blocks(entry["pem"].encode("ascii")) if label == "CERTIFICATE"))
            if public.is_public(facts):
                names.append(facts.subject)
    if not names:
        return None
    return (f"{len(names)} of the banned certificates are public roots (e.g. {names[0][:80]!r}): every site they "
            "anchor will be shown banned (and replaced in enforce mode)")
