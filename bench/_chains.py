"""The chains the benchmarks judge, made with the test kit (tests/certkit.py) and ``cryptography``.

- ``three``: leaf (EC P-256, 1 SAN) <- intermediate (RSA-2048) <- root (RSA-2048, self-signed), as a
  public CA chain looks; the root is private, so the verdict is ``interception`` (the full path: every
  blocklist and public-root lookup runs and misses).
- ``big``: a leaf with 10,000 DNS SANs (about 200 KB, field report C.16) <- its root.
"""

from __future__ import annotations

from bench._common import REPO  # noqa: F401 - puts the repo on sys.path

from tests.certkit import der, issue_leaf, make_root, rsa_key


def three_chain() -> list[bytes]:
    root, root_key = make_root("RootSentinel Bench Root", key=rsa_key(), country="DE")
    inter, inter_key = issue_leaf(root, root_key, "RootSentinel Bench Intermediate", ca=True, sans=[],
                                  key=rsa_key())
    leaf, _ = issue_leaf(inter, inter_key, "www.example.org", sans=["www.example.org", "example.org"])
    return [der(leaf), der(inter), der(root)]


def big_chain() -> list[bytes]:
    root, root_key = make_root("RootSentinel Bench Root", key=rsa_key())
    leaf, _ = issue_leaf(root, root_key, "big.example", sans=[f"h{i}.big.example" for i in range(10_000)])
    return [der(leaf), der(root)]
