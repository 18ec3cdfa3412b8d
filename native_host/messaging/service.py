"""The judging service the host and the CLI share (:class:`Service`): blocklist, public roots, policy, AIA
fetcher, audit sink and the ``installed_in`` lookup, and the provisional ``der_wanted`` verdict."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Callable

from native_host import __version__
from native_host.engine.blocklist import Blocklist, bundled
from native_host.engine.verdict import Chain, Policy, judge
from native_host.errors import RootSentinelError

if TYPE_CHECKING:
    from native_host.engine.publicroots import PublicRoots
    from native_host.enterprise.config import SystemConfig
    from native_host.messaging.route import Route
    from native_host.scan.installed import InstalledRoots


def log_exception(what: str) -> None:
    """Log the current exception to stderr (which the browser keeps; never stdout)."""
    import traceback

    sys.stderr.write(f"rootsentinel host: {what}\n{traceback.format_exc()}")
    sys.stderr.flush()

PROTOCOL = 1

PROBING_DISABLED = "probing disabled by policy"
"""The reason said when ``probing`` is off: a probe's ``probe.error``, an AIA fetch's ``skipped`` reason."""


class Service:
    """The judging service shared by the host and the CLI.

    Args:
        blocklist: default the bundled one.
        public: default the bundled public store (:func:`native_host.engine.publicroots.store`), loaded on
            first use (so ``hello`` stays fast).
        policy: the system policy (enterprise config); a connection's ``hello`` may add to it.
        audit: called with every ``check`` and ``probe`` verdict (:class:`native_host.enterprise.audit.AuditLog`), or None.
        probing: the system config's ``probing``: False, the host connects nowhere (no probe, no AIA fetch).
        make_audit: builds the audit sink when a ``hello`` policy turns ``audit`` on and the config did not.
        settings: the extension-facing settings the system config sets, told in the ``hello`` reply.
        allow_acknowledge: the system config's ``allow_user_acknowledge``.

    A ``hello`` policy's ``probing`` and ``audit`` (the extension's managed settings) win over the system
    config's for the rest of the connection (docs/enterprise.md "Which setting wins").
    """

    def __init__(self, blocklist: Blocklist | None = None, public: PublicRoots | None = None,
                 policy: Policy | None = None, config_error: str | None = None,
                 audit: Callable[[dict[str, Any]], object] | None = None, *, probing: bool = True,
                 make_audit: Callable[[], Callable[[dict[str, Any]], object]] | None = None,
                 settings: dict[str, Any] | None = None, allow_acknowledge: bool = True) -> None:
        self.audit = audit
        self.system_audit = audit
        self.make_audit = make_audit
        self.system_probing = self.probing = probing
        self.system_settings = dict(settings or {})
        self.allow_acknowledge = allow_acknowledge
        self.blocklist = blocklist or bundled()
        self._public = public
        self.system_policy = policy or Policy()
        self.policy = self.system_policy
        self.config_error = config_error
        self._fetcher = None
        self.installed: "InstalledRoots | None" = None  # the host sets it: installed_in on banned verdicts
        self.acknowledged: frozenset[str] = frozenset()  # roots the person knows (hello; engine/acknowledge.py)
        from native_host.engine.chains import CertMemory

        self.cert_memory = CertMemory()

    @classmethod
    def from_config(cls, config: "SystemConfig") -> "Service":
        """The service a loaded system config asks for (policy, installed blocklist, audit log)."""
        def make_audit() -> Callable[[dict[str, Any]], object]:  # imported only when enabled: a fast start
            from native_host.enterprise.audit import AuditLog

            return AuditLog.from_config(config)
        return cls(blocklist=config.blocklist, policy=config.policy, config_error=config.error,
                   audit=make_audit() if config.audit else None, probing=config.probing, make_audit=make_audit,
                   settings=config.extension_settings(), allow_acknowledge=config.allow_user_acknowledge)

    def record(self, verdict: dict[str, Any], installed: bool = False) -> dict[str, Any]:
        """Hand a finished verdict to the audit log, if any, then add ``installed_in`` to a banned one
        (:mod:`native_host.scan.installed`, when :attr:`installed` is set); with ``installed`` (a probe
        request's ``installed_in: true``) also to an interception or notice one, and ``[]`` when the scan
        finished and found the root nowhere. Returns the verdict."""
        if self.audit is not None:
            self.audit(verdict)
        level = verdict.get("level")
        if self.installed is not None and (level == "banned" or (installed and level in ("interception", "notice"))):
            self.installed.annotate(verdict, say_none=installed)
        return verdict

    def enable_installed(self, installed: "InstalledRoots | None" = None) -> None:
        """Look banned roots up in this machine's trust stores (the host does, unless
        ``installed_roots: false``)."""
        from native_host.scan.installed import InstalledRoots

        self.installed = installed or InstalledRoots()
        self.installed.bind(self.blocklist, lambda: self.public, self.system_policy)

    @property
    def public(self) -> PublicRoots:
        if self._public is None:
            from native_host.engine.publicroots import store

            self._public = store()
        return self._public

    def warm_up(self) -> None:
        """Import what the first ``check`` needs and load the public roots (run on a background thread).
        pyOpenSSL (about 5 MB) waits for the first probe, which Firefox rarely asks for."""
        import native_host.engine.chains  # noqa: F401 - cryptography
        import native_host.engine.verify  # noqa: F401 - the path builder
        from native_host.schemas import validator

        validator("check.request")  # jsonschema
        _ = self.public

    def hello(self, msg: dict[str, Any]) -> dict[str, Any]:
        """Answer ``hello``; a ``policy`` in it applies to the rest of the connection."""
        policy = msg.get("policy") or {}
        if "policy" in msg:
            self.policy = self.system_policy.merged(Policy.from_json(msg["policy"]))
        self.probing = bool(policy.get("probing", self.system_probing))
        if policy.get("audit") is False:
            self.audit = None
        elif policy.get("audit") is True and self.audit is None:
            self.audit = self.system_audit or (self.make_audit() if self.make_audit else None)
        elif "audit" not in policy:
            self.audit = self.system_audit
        if self.audit is not None and hasattr(self.audit, "hello"):
            self.audit.hello(msg)  # events now name the browser and profile (enterprise/identity.py)
        if "acknowledged_spki_sha256" in msg and self.allow_acknowledge:
            from native_host.engine.acknowledge import key_set

            self.acknowledged = key_set(msg["acknowledged_spki_sha256"])
        return {"type": "hello", "id": msg["id"], "version": __version__, "protocol": PROTOCOL,
                "blocklist": self.blocklist.summary(), "config_error": self.config_error,
                "settings": self.effective_settings()}

    def effective_settings(self) -> dict[str, Any]:
        """The settings in force for this connection, for the ``hello`` reply (docs/protocol.md): ``probing``
        and ``audit`` as the host applies them, and the extension-facing keys the system config sets
        (``mode``, ``notifications``, ``capture``, ``allow_user_acknowledge``; absent when it does not)."""
        return {**self.system_settings, "probing": self.probing, "audit": self.audit is not None}

    def probing_disabled(self, host: str, port: int = 443, url: str | None = None) -> dict[str, Any]:
        """The answer to a probe while ``probing`` is off: ``unknown``, reason ``probing_disabled``; no
        connection is made."""
        verdict = self.judge(Chain(certs=[], evidence="probe", url=url, host=str(host).strip("[]")))
        verdict.update(reason="probing_disabled", explanation=PROBING_DISABLED[0].upper() + PROBING_DISABLED[1:]
                       + ": the helper does not connect to sites itself, so this page was not judged.")
        verdict["probe"] = {"host": host, "port": port, "sni": None, "elapsed_ms": 0.0, "error": PROBING_DISABLED}
        return self.record(verdict)

    def blocked(self, msg: dict[str, Any]) -> dict[str, Any]:
        """Answer ``blocked`` (enforce mode replaced a banned page): a ``page-blocked`` audit event when
        auditing is on (:meth:`native_host.enterprise.audit.AuditLog.blocked`)."""
        event = None
        if self.audit is not None and hasattr(self.audit, "blocked"):
            event = self.audit.blocked(msg.get("url"), msg.get("cert_sha256"))
        return {"type": "blocked", "id": msg["id"], "audited": event is not None}

    @property
    def fetcher(self):  # noqa: ANN201 - native_host.messaging.aia.Fetcher
        """The AIA caIssuers fetcher shared by this service's checks and probes (created on first use)."""
        if self._fetcher is None:
            from native_host.messaging.aia import Fetcher

            self._fetcher = Fetcher()
        return self._fetcher

    def judge(self, chain: Chain, *, fetch_issuers: bool = False, network: bool = True,
              deadline: float | None = None, skip: str | None = None) -> dict[str, Any]:
        """Run the verdict engine with this service's blocklist, public roots and policy.

        Args:
            fetch_issuers: complete a path whose top issuer was not sent from its AIA caIssuers URL
                (:mod:`native_host.messaging.aia`); the host does for its checks and probes, the CLI for files only
                with ``--fetch-issuers``.
            network: False: AIA answers from the fetcher's cache only (the host's main thread, a probe
                worker); see :meth:`judge_or_defer`.
            deadline: a ``time.monotonic()`` value every fetch must end by.
            skip: fetch nothing new, for this reason (said in the verdict).

        A verdict for which a fetch was made, refused, failed or skipped carries ``aia``:
        ``[{"url", "outcome", "reason"}]``, and its explanation says why an issuer was not fetched.
        """
        log: list[dict[str, Any]] = []
        fetch = None
        if not self.probing and skip is None:
            skip = PROBING_DISABLED
        if fetch_issuers:
            def fetch(url: str) -> list[bytes]:  # the fetcher (urllib, http.client) is made only when needed
                return self.fetcher(url, deadline=deadline, log=log, network=network, skip=skip)
        verdict = judge(chain, self.blocklist, self.public, self.policy, fetch=fetch)
        if self.acknowledged:
            from native_host.engine.acknowledge import acknowledge

            acknowledge(verdict, self.acknowledged)
        if log:
            verdict["aia"] = log[:4]
            missed = [e for e in log if e["outcome"] in ("refused", "failed", "skipped")]
            if missed and verdict.get("level") != "ok":
                e = missed[0]
                verdict["explanation"] = (verdict.get("explanation", "") + f" The missing issuer was not fetched "
                                          f"from {e['url'][:200]}: {e['outcome']} ({e['reason'] or 'no reason'}).").strip()
        return verdict

    def judge_or_defer(self, chain: Chain, finish: Callable[[dict[str, Any]], dict[str, Any]]) -> "dict | Deferred":
        """The verdict on ``chain`` judged with cached AIA answers only; when it needs a fetch, a
        :class:`Deferred` that judges it again with the network on a worker thread (never this one).
        ``finish`` completes a verdict (``record``, ``id``, ``probe``...)."""
        verdict = self.judge(chain, fetch_issuers=True, network=False)
        if not any(e["outcome"] == "deferred" for e in verdict.get("aia", [])):
            return finish(verdict)

        def complete(deadline: float | None, skip: str | None = None) -> dict[str, Any]:
            return finish(self.judge(chain, fetch_issuers=True, deadline=deadline, skip=skip))
        return Deferred(complete)

    def check(self, msg: dict[str, Any], *, network: bool = True) -> "dict[str, Any] | Deferred":
        """Answer ``check`` (``chain`` or ``securityInfo``); with ``network`` False (the host's main thread) a
        :class:`Deferred` when an AIA fetch is needed.

        Raises:
            BadBase64, BadDER, SchemaError: bad certificates.
        """
        from native_host.engine.chains import chain_from_base64, chain_from_security_info

        url = msg.get("url")
        missing: list[int] = []
        if "chain" in msg:
            chain = chain_from_base64(msg["chain"], url=url)
        else:
            chain = chain_from_security_info(msg["securityInfo"], url=url, validated=True,  # check.request covered it
                                             memory=self.cert_memory, missing=missing)

        def finish(verdict: dict[str, Any]) -> dict[str, Any]:
            if missing:
                verdict = der_wanted_verdict(verdict, missing)
            verdict = self.record(verdict)
            verdict["id"] = msg["id"]
            return verdict
        if network:
            return finish(self.judge(chain, fetch_issuers=True))
        return self.judge_or_defer(chain, finish)

    def probe(self, host: str, port: int = 443, url: str | None = None, timeout: float = 5.0,
              route: "Route | None" = None, *, network: bool = True,
              installed: bool = False) -> "dict[str, Any] | Deferred":
        """Probe ``host:port`` along ``route`` and judge the presented chain (evidence ``probe``).

        Args:
            route: the address and proxy to use (:class:`native_host.messaging.route.Route`, from the browser's
                probe request or the CLI's ``--connect-to`` / ``--proxy``); default: resolve, go direct.
            network: False (a probe worker): a :class:`Deferred` when the verdict needs an AIA fetch, which
                then runs on the AIA workers and frees the probe worker.
            installed: the request asked where the root is installed (``installed_in: true``, :meth:`record`).

        A failed handshake gives an ``unknown`` verdict with reason ``probe_failed`` and the error in
        ``probe.error`` (a verdict, not an error frame: "the network presented nothing" is an answer);
        ``probe.route`` records the route facts either way (docs/protocol.md).
        """
        from native_host.engine.certfacts import cert_facts
        from native_host.messaging.probe import probe
        from native_host.messaging.route import Route

        route = route or Route()
        if installed and self.installed is not None:
            self.installed.start()  # the scan runs during the handshake, not after it
        try:
            result = probe(host, port, timeout=timeout, route=route)
        except RootSentinelError as exc:
            verdict = self.judge(Chain(certs=[], evidence="probe", url=url, host=host.strip("[]")))
            verdict.update(reason="probe_failed", explanation=f"The probe could not see a certificate: {exc}")
            verdict["probe"] = {"host": host, "port": port, "sni": None, "elapsed_ms": 0.0, "error": str(exc),
                                "route": route.facts(None, exc)}
            return self.record(verdict, installed=installed)
        chain = Chain(certs=[cert_facts(d) for d in result.chain], evidence="probe", url=url, host=host.strip("[]"))

        def finish(verdict: dict[str, Any]) -> dict[str, Any]:
            verdict["probe"] = {"host": host, "port": port, "sni": result.sni, "elapsed_ms": result.elapsed_ms,
                                "error": None, "route": route.facts(result.connected)}
            return self.record(verdict, installed=installed)
        if network:
            return finish(self.judge(chain, fetch_issuers=True))
        return self.judge_or_defer(chain, finish)


class Deferred:
    """A verdict that needs an AIA fetch, to be completed on a worker thread: ``complete(deadline, skip=None)``
    judges again with the network (every fetch ending by ``deadline``; or, with ``skip``, fetching nothing new
    for that reason) and returns the finished verdict."""

    __slots__ = ("complete",)

    def __init__(self, complete: Callable[..., dict[str, Any]]) -> None:
        self.complete = complete


_FINGERPRINT_MATCH = ("spki_sha256", "cert_sha256")


def der_wanted_verdict(verdict: dict[str, Any], missing: list[int]) -> dict[str, Any]:
    """A ``check`` whose certificates ``missing`` came without DER and are not remembered
    (:class:`native_host.engine.chains.CertMemory`): the browser's strings are not evidence for an ``ok``,
    so the verdict is a provisional ``unknown`` (reason ``der_wanted``) and ``der_wanted: true`` asks the
    extension for the DER on its next response. Only a ban by a fingerprint (the SHA-256 of a certificate
    or of its key, which Firefox computes from the DER) is kept, with ``der_wanted`` too.
    """
    verdict["der_wanted"] = True
    verdict["der_missing"] = list(missing)
    matched = verdict.get("matched") or {}
    if verdict.get("level") == "banned" and matched.get("by") in _FINGERPRINT_MATCH:
        return verdict
    verdict.update(level="unknown", category=None, reason="der_wanted",
                   explanation="certificates without DER that the host has not parsed before: not judged until "
                               "the browser sends their DER")
    verdict.pop("interceptor", None)
    return verdict


