"""The whole Linux rollout in real headless Chromium and Firefox ESR (issue 23, "Done means").

In a private mount namespace with overlays over /etc, /opt, /usr and /var (tests/nskit.py), as a fleet would:
the Debian package installed with dpkg; the CRX3 (signed with a key made here) served with its updates.xml by a
local http update server; ``rootsentinel rollout`` from one settings file; then Chromium and Firefox ESR started
on fresh profiles with no extension flags and no add-on install over the remote protocol. The policy installs
the extension, the managed settings are in force from the first page (enforce blocks a policy-banned root; the
allow-listed proxy root shows ``i``), ``doctor`` is clean; the decommission policies remove the extension from
both profiles, ``dpkg --purge`` removes the host, and nothing is left: no file in the overlays but dpkg's own
records, no host process. The steps live in tests/e2e/rollout_scenario.py (run inside the namespace); the time
from browser start to the first badge and the package sizes are printed (``-s``), not asserted.

Neither server sends its root, as an inspection proxy does not: the settings give the roots as certificates
(``allow_roots_pem``, ``banned[].pem``), so Chromium's evidence, the host's probe, reaches them by path building.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from badges import BADGE

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
import nskit  # noqa: E402


pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def artefacts(signed_deb) -> dict:
    """The session's Debian package and CRX key (tests/conftest.py ``signed_deb``) and an xpi built here."""
    why = nskit.available()
    if why:
        pytest.skip(why)
    out = signed_deb["out"]
    subprocess.run(["node", str(REPO / "build" / "build_extension.mjs"), "firefox", "--out", str(out / "firefox")],
                   check=True, capture_output=True, cwd=REPO)
    subprocess.run(["npx", "--no-install", "web-ext", "build", "--source-dir", str(out / "firefox"), "--artifacts-dir",
                    str(out), "--overwrite-dest", "--filename", "rootsentinel-firefox.xpi"],
                   check=True, capture_output=True, cwd=REPO)
    return {"deb": signed_deb["deb"], "xpi": out / "rootsentinel-firefox.xpi", "key": signed_deb["key"],
            "id": signed_deb["id"]}


def test_linux_rollout_end_to_end(artefacts, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    script = (f"exec {sys.executable} {REPO / 'tests' / 'e2e' / 'rollout_scenario.py'} --work {work} "
              f"--deb {artefacts['deb']} --xpi {artefacts['xpi']} --crx-key {artefacts['key']}")
    proc = subprocess.run(nskit.ns_command(tmp_path / "ns", script), capture_output=True, text=True, timeout=600,
                          cwd=REPO)
    assert (work / "results.json").exists(), proc.stderr[-4000:]
    r = json.loads((work / "results.json").read_text())
    assert proc.returncode == 0, proc.stderr[-4000:] + json.dumps(r, indent=1)[-4000:]
    ext_id = artefacts["id"]
    print(f"\nfirst badge after browser start: Chromium {r['chromium'].get('first_badge_s')} s (first page blocked: "
          f"{r['chromium'].get('first_page_blocked')}; storage.managed after {r['chromium'].get('managed_after_s')} s), "
          f"Firefox ESR {r['firefox'].get('first_badge_s')} s (first page blocked: {r['firefox'].get('first_page_blocked')})"
          "; sizes (this deb gzip-compressed, make dist's xz): "
          + ", ".join(f"{name} {size / 1e6:.2f} MB" for name, size in r["sizes"].items()))

    assert r["dpkg_install"]["rc"] == 0, r["dpkg_install"]
    assert r["crx"]["rc"] == 0 and r["crx"]["id"] == ext_id, r["crx"]
    assert r["rollout"]["rc"] == 0, r["rollout"]
    assert r["rollout"]["err"].count("warning") == 1  # the plain-http update URL
    assert r["manifests_equal_package"] and all(r["manifests_equal_package"].values()), r["manifests_equal_package"]

    cr = r["chromium"]
    assert cr["worker"], "Chromium did not force-install the CRX from the update server"
    assert json.loads(cr["managed"])["mode"] == "enforce"
    assert cr["banned_badge"]["text"] == BADGE["banned"], cr
    assert cr["first_page_blocked"], cr  # enforce from the first page (the config's mode, told in hello)
    assert cr["banned_url"] == cr["blocked_url"], cr  # and after storage.managed has arrived
    assert cr["proxy_badge"]["text"] == BADGE["notice"], cr
    assert cr["doctor"]["rc"] == 0 and json.loads(cr["doctor"]["out"])["ok"] is True, cr["doctor"]["out"]

    ff = r["firefox"]
    assert ff["installed"], "Firefox ESR did not force-install the unsigned xpi"
    assert json.loads(ff["managed"])["mode"] == "enforce"
    assert ff["banned_badge"]["text"] == BADGE["banned"], ff
    assert ff["first_page_blocked"], ff  # Firefox: enforce from the very first page
    assert ff["proxy_badge"]["text"] == BADGE["notice"], ff
    assert ff["doctor"]["rc"] == 0 and json.loads(ff["doctor"]["out"])["ok"] is True, ff["doctor"]["out"]

    dc = r["decommission"]
    assert dc["rc"] == 0
    assert dc["chromium_ext_dir_gone"] and not dc["chromium_worker"], dc
    assert dc["firefox_xpi_gone"] and not dc["firefox_extension_page"], dc
    assert not dc["firefox_extensions_json_lists_it"], dc
    assert dc["purge"]["rc"] == 0, dc["purge"]
    assert dc["host_processes"] == [], dc
    assert "installed" not in dc["status"]
    assert dc["appeared"] == [] and dc["disappeared"] == [], dc  # /etc, /opt, ... exactly as before the rollout
    left = [p for p in nskit.upper_files(tmp_path / "ns")
            if not p.startswith(("/var/lib/dpkg/", "/var/log/", "/var/cache/", "/var/tmp/"))]
    assert left == [], left
