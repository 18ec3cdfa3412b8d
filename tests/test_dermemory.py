"""Issue 16: the host judges certificates sent without rawDER from the facts it parsed from their DER
before (CertMemory), and never says `ok` for one it has not parsed (`der_wanted`)."""

from __future__ import annotations

from certkit import der, issue_leaf, load_leaked, make_root, security_info
from native_host.engine.chains import CertMemory, chain_from_security_info
from native_host.engine.der import name_key, parse_name_string
from native_host.messaging.host import Service
from native_host.schemas import validate


def _check(service: Service, info: dict, msg_id: int = 1) -> dict:
    msg = {"type": "check", "id": msg_id, "url": "https://bank.example/", "securityInfo": info}
    validate("check.request", msg)
    reply = service.check(msg)
    validate("verdict.reply", reply)
    return reply


def _strip(info: dict, keep: set[int] = frozenset()) -> dict:
    out = dict(info)
    out["certificates"] = [c if i in keep else {k: v for k, v in c.items() if k != "rawDER"}
                           for i, c in enumerate(info["certificates"])]
    return out


def _comparable(reply: dict) -> dict:
    return {k: v for k, v in reply.items() if k != "id"}


def _private_chain(host: str = "bank.example"):
    root, root_key = make_root("RootSentinel Memory Test Root")
    leaf, _ = issue_leaf(root, root_key, host)
    return [der(leaf), der(root)]


def test_unknown_certificates_without_der_are_never_ok():
    chain = _private_chain()
    service = Service()
    reply = _check(service, security_info(chain, builtin_root=True, raw=False))
    assert reply["level"] == "unknown" and reply["reason"] == "der_wanted"
    assert reply["der_wanted"] is True and reply["der_missing"] == [0, 1]


def test_remembered_facts_give_the_verdict_of_the_der():
    chain = _private_chain()
    service = Service()
    with_der = _check(service, security_info(chain), 1)
    assert "der_wanted" not in with_der
    without = _check(service, security_info(chain, raw=False), 2)
    assert _comparable(without) == _comparable(with_der)
    # a new leaf under a remembered root: only the leaf's DER is needed
    root_only = _check(service, _strip(security_info(chain), keep={0}), 3)
    assert _comparable(root_only) == _comparable(with_der)


def test_new_leaf_without_der_under_a_known_root_asks_for_der():
    chain = _private_chain()
    service = Service()
    _check(service, security_info(chain), 1)
    root_cert, root_key = make_root("Another Root")
    other_leaf, _ = issue_leaf(root_cert, root_key, "bank.example")
    info = _strip(security_info([der(other_leaf), chain[1]]), keep={1})
    reply = _check(service, info, 2)
    assert reply["level"] == "unknown" and reply["der_wanted"] is True and reply["der_missing"] == [0]


def test_banned_by_fingerprint_is_kept_without_der():
    sf_cert, sf_key = load_leaked("superfish")
    leaf, _ = issue_leaf(sf_cert, sf_key, "bank.example")
    reply = _check(Service(), security_info([der(leaf), der(sf_cert)], raw=False))
    assert reply["level"] == "banned" and reply["der_wanted"] is True
    assert reply["matched"]["by"] in ("spki_sha256", "cert_sha256")


def test_memory_is_bounded_and_lru():
    mem = CertMemory(max_entries=2)
    infos = [security_info(_private_chain(f"h{i}.example")[:1]) for i in range(3)]
    chains = [chain_from_security_info(info, memory=mem) for info in infos]
    assert len(mem) == 2
    assert mem.recall(chains[0].certs[0].cert_sha256) is None
    assert mem.recall(chains[2].certs[0].cert_sha256) is chains[2].certs[0]


def test_nss_quoted_names():
    text = 'CN=Superfish\\, Inc.,O="Superfish, Inc.",L=SAN JOSE,ST=CA,C=US'
    assert parse_name_string(text) == [("CN", "Superfish, Inc."), ("O", "Superfish, Inc."), ("L", "SAN JOSE"),
                                       ("ST", "CA"), ("C", "US")]
    assert name_key(parse_name_string('O="a+b, c"+CN=x')) == name_key([("O", "a+b, c"), ("CN", "x")])
    assert parse_name_string('CN=say "hi"') == [("CN", 'say "hi"')]
