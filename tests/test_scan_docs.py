"""docs/enterprise.md stays true: its store lists, quoted outputs and config keys are checked against the
code that produces them (run the commands again and update the doc when one of these fails)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from native_host.scan import _files
from native_host.schemas import schema

REPO = Path(__file__).parent.parent
DOC = (REPO / "docs" / "enterprise.md").read_text("utf-8")


def json_blocks() -> list[str]:
    return re.findall(r"```json\n(.*?)```", DOC, re.S)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "native_host", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=60)


def test_doc_lists_every_linux_store_the_scan_reads():
    for path in _files.BUNDLES + _files.ANCHOR_DIRS:
        assert f"`{path}`" in DOC, path


def test_doc_quotes_the_policy_output_as_printed():
    blocks = [json.loads(b) for b in json_blocks() if "<" not in b]
    firefox = [b for b in blocks if "policies" in b][0]
    chrome = [b for b in blocks if "ExtensionInstallForcelist" in b][0]
    spki = firefox["policies"]["3rdparty"]["Extensions"]["rootsentinel@rootsentinel.io"]["allow_spki_sha256"][0]
    xpi = firefox["policies"]["ExtensionSettings"]["rootsentinel@rootsentinel.io"]["install_url"]
    out = cli("policy", "--browser", "firefox", "--xpi-url", xpi, "--mode", "enforce", "--allow-spki-sha256", spki)
    assert out.returncode == 0 and json.loads(out.stdout) == firefox
    ext_id, update = chrome["ExtensionInstallForcelist"][0].split(";")
    out = cli("policy", "--browser", "chrome", "--extension-id", ext_id, "--update-url", update)
    assert out.returncode == 0 and json.loads(out.stdout) == chrome
    out = cli("policy", "--browser", "edge")
    assert json.loads(out.stdout)["ExtensionInstallForcelist"][0].split(";")[1] in DOC
    assert out.stderr.strip() in DOC


def test_doc_config_example_uses_only_config_keys():
    example = [b for b in json_blocks() if '"blocklist_public_key"' in b][0]
    keys = set(re.findall(r'^  "([a-z_0-9]+)":', example, re.M))
    assert keys and keys <= set(schema("settings")["properties"])


def test_doc_says_make_dist_builds_the_chromium_zip_and_names_real_verbs():
    makefile = (REPO / "Makefile").read_text()
    assert "skipping the Chromium" not in makefile and "skipping the Chromium" not in DOC
    assert "rootsentinel-chromium-{v}" in makefile and "dist/rootsentinel-chromium-0.1.0.zip" in DOC
    for verb in re.findall(r"rootsentinel(?:-host)?(?:\.exe\"?)? (install|policy|doctor|scan|blocklist) ", DOC):
        assert cli(verb, "--help").returncode == 0, verb
    help_text = cli("blocklist", "--help").stdout
    for sub in ("keygen", "sign", "verify", "install", "show"):
        assert sub in help_text
