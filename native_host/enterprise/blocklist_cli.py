"""The ``blocklist`` verb of ``rootsentinel``: build, make keys, sign, verify, install and show blocklist updates.

``native_host.cli`` calls :func:`add_parsers` with its argparse subparsers object; each sub-verb sets
``func(args) -> int``: 0 ok, 3 on an error (a :class:`~native_host.errors.RootSentinelError`, which the CLI
prints as one line). These functions are the only place of the update machinery that prints.

A publisher's round trip (signing happens off the fleet; only the public key is deployed)::

    rootsentinel blocklist build edited.json --out blocklist-2026.12.01.json   # rehash, bump the version
    rootsentinel blocklist keygen --out publisher.key         # prints the base64 public key
    # put it in the system config: "blocklist_public_key": "<base64>"
    rootsentinel blocklist sign blocklist-2026.12.01.json --key publisher.key    # writes ...json.sig
    rootsentinel blocklist verify blocklist-2026.12.01.json  # under the pinned key (or --public-key)
    rootsentinel blocklist install blocklist-2026.12.01.json # as an administrator, on each machine
    rootsentinel blocklist show                              # what the host uses now, and why
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from native_host.enterprise.blocklist_update import UpdateRejected

EXIT_OK = 0
EXIT_ERROR = 3


def _pinned_key(args: argparse.Namespace):
    """The public key to verify under: ``--public-key`` if given, else the system config's pinned key."""
    from native_host.enterprise.blocklist_update import parse_public_key

    if getattr(args, "public_key", None):
        return parse_public_key(args.public_key)
    from native_host.enterprise.blocklist_update import NoPinnedKey
    from native_host.enterprise.config import load_system_config

    config = load_system_config()
    try:
        return parse_public_key(config.settings.get("blocklist_public_key"))
    except NoPinnedKey as exc:
        raise NoPinnedKey(f"{exc}; pin it as \"blocklist_public_key\" in {config.path} (the ROOTSENTINEL_CONFIG "
                          f"environment variable names another config file), or pass --public-key BASE64") from None


def cmd_build(args: argparse.Namespace) -> int:
    from native_host.enterprise.blocklist_build import build_file

    doc = build_file(Path(args.input), Path(args.out), version=args.version)
    sys.stdout.write(f"built {args.out}: version {doc['version']}, {doc['size']} entries, sha256 {doc['sha256']}; "
                     f"sign it with: rootsentinel blocklist sign {args.out} --key KEYFILE\n")
    return EXIT_OK


def cmd_keygen(args: argparse.Namespace) -> int:
    from native_host.enterprise.blocklist_update import generate_private_key, private_key_pem, public_key_b64

    key = generate_private_key()
    out = Path(args.out)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(out, flags, 0o600)  # the signing key is readable by its owner only
    except FileExistsError:
        raise UpdateRejected(f"{out} exists; refusing to overwrite a signing key") from None
    except OSError as exc:
        raise UpdateRejected(f"cannot create {out}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as f:
        f.write(private_key_pem(key))
    public = public_key_b64(key)
    sys.stdout.write(public + "\n")
    sys.stderr.write(f"private key written to {out} (keep it off the fleet); pin the public key in the system "
                     f"config as \"blocklist_public_key\": \"{public}\"\n")
    return EXIT_OK


def cmd_sign(args: argparse.Namespace) -> int:
    from native_host.enterprise.blocklist_update import (MAX_UPDATE_BYTES, atomic_write, check_document_bytes,
                                              load_private_key, sign_bytes, signature_path)

    path = Path(args.file)
    key = load_private_key(Path(args.key))
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_UPDATE_BYTES + 1)
    except OSError as exc:
        raise UpdateRejected(f"cannot read {path}: {exc.strerror}") from exc
    # refuse to sign what no host would install: the very checks of `blocklist install`
    blocklist = check_document_bytes(data, f"{path} is not signed:")
    sig_path = Path(args.sig) if args.sig else signature_path(path)
    try:
        atomic_write(sig_path, sign_bytes(data, key))
    except OSError as exc:
        raise UpdateRejected(f"cannot write {sig_path}: {exc.strerror}") from exc
    sys.stdout.write(f"signed {path} (version {blocklist.version}, {len(blocklist)} entries) -> {sig_path}\n")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from native_host.enterprise.blocklist_update import verify_update

    blocklist = verify_update(Path(args.file), _pinned_key(args), Path(args.sig) if args.sig else None)
    sys.stdout.write(f"OK {args.file}: version {blocklist.version}, {len(blocklist)} entries, "
                     f"sha256 {blocklist.sha256}, signature verifies under the pinned key\n")
    return EXIT_OK


def cmd_install(args: argparse.Namespace) -> int:
    from native_host.enterprise.blocklist_update import install_update, parse_public_key
    from native_host.enterprise.config import load_system_config

    config = load_system_config()
    if config.error and not config.settings:
        raise UpdateRejected(f"the system config {config.path} is unusable, so no key is pinned: {config.error}")
    public_key = parse_public_key(config.settings.get("blocklist_public_key"))
    result = install_update(Path(args.file), config.blocklist_dir, public_key,
                            Path(args.sig) if args.sig else None)
    sys.stdout.write(f"installed blocklist {result.blocklist.version} ({len(result.blocklist)} entries, "
                     f"replacing {result.previous_version}) into {result.path.parent}; hosts use it from "
                     f"their next start\n")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from native_host.engine.blocklist import bundled
    from native_host.enterprise.config import load_system_config

    config = load_system_config()
    blocklist = config.blocklist or bundled()
    info = {**blocklist.summary(), "source": "installed" if config.blocklist else "bundled",
            "blocklist_dir": str(config.blocklist_dir), "config": str(config.path),
            "public_key_pinned": bool(config.settings.get("blocklist_public_key")),
            "bundled_version": bundled().version, "error": config.error}
    if args.json:
        sys.stdout.write(json.dumps(info, indent=1) + "\n")
    else:
        sys.stdout.write(f"in use: {info['source']} blocklist {info['version']} ({info['size']} entries, "
                         f"sha256 {info['sha256']})\n")
        sys.stdout.write(f"bundled version {info['bundled_version']}; updates dir {info['blocklist_dir']}; "
                         f"public key {'pinned' if info['public_key_pinned'] else 'not pinned'} in {info['config']}\n")
        if config.error:
            sys.stdout.write(f"error: {config.error}\n")
    return EXIT_ERROR if config.error else EXIT_OK


def add_parsers(subparsers) -> None:
    """Add ``blocklist keygen|sign|verify|install|show`` to an argparse subparsers object."""
    parent = subparsers.add_parser("blocklist", help="build, sign, verify, install and show signed blocklist updates",
                                   description="Signed blocklist updates (Ed25519 over the exact file bytes; "
                                               "the host accepts them only under blocklist_public_key).")
    sub = parent.add_subparsers(dest="blocklist_command", metavar="VERB")
    parent.set_defaults(func=lambda args: (parent.print_help(sys.stderr), EXIT_ERROR)[1])

    p = sub.add_parser("build", help="build a new version from a sources file or an edited list (rehash, bump version)",
                       description="Build a blocklist to sign: from an edited blocklist JSON or a JSON array of entries "
                                   "(the shape of build/blocklist-sources/roots.json; an entry may name "
                                   "\"certificate\": \"FILE.pem\" to take its fingerprints and names from the "
                                   "certificate). Recomputes every hash, the size and the content hash, and bumps the "
                                   "version past the input's and the bundled one.")
    p.add_argument("input", metavar="INPUT", help="an edited blocklist JSON, or a JSON array of entries")
    p.add_argument("--out", required=True, metavar="FILE", help="where to write the new blocklist (e.g. blocklist-2026.12.01.json)")
    p.add_argument("--version", metavar="YYYY.MM.DD[.N]",
                   help="the version to give it (default: today's date, or the input's version with .N raised)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("keygen", help="make an Ed25519 signing key; print its public key (base64)")
    p.add_argument("--out", required=True, metavar="KEYFILE", help="where to write the private key (PEM, mode 0600)")
    p.set_defaults(func=cmd_keygen)

    p = sub.add_parser("sign", help="write FILE.sig: a detached Ed25519 signature over FILE's bytes")
    p.add_argument("file", metavar="FILE", help="the blocklist JSON (validated before signing)")
    p.add_argument("--key", required=True, metavar="KEYFILE", help="the private key from keygen")
    p.add_argument("--sig", metavar="SIGFILE", help="where to write the signature (default FILE.sig)")
    p.set_defaults(func=cmd_sign)

    p = sub.add_parser("verify", help="check an update's signature, schema and content hash")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--sig", metavar="SIGFILE", help="the signature (default FILE.sig)")
    p.add_argument("--public-key", metavar="BASE64", help="verify under this key instead of the pinned one")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("install", help="verify an update under the pinned key and install it atomically")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--sig", metavar="SIGFILE", help="the signature (default FILE.sig)")
    p.set_defaults(func=cmd_install)

    p = sub.add_parser("show", help="which blocklist the host uses now (installed or bundled), and why",
                       description="Exit code 0, or 3 when the config or the installed update was rejected "
                                   "(usable as a fleet health check).")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)
