"""The documents say what `make dist` makes and what a person or a fleet does with it (issue 23 items 1, 2, 7 and
"What a fleet expects"; issue 24 item 8): checked against the code that makes it, so the two cannot drift."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from native_host.install.policy import decommission_policy

REPO = Path(__file__).parent.parent
sys.path.insert(0, str(REPO / "build"))
import package_linux  # noqa: E402

README = (REPO / "README.md").read_text()
ENTERPRISE = (REPO / "docs" / "enterprise.md").read_text()
MAKEFILE = (REPO / "Makefile").read_text()


def test_readme_first_screen_says_how_to_install_so_it_lasts():
    first = README.split("## Install it in Firefox", 1)[0]
    assert "apt install pipx" in first and "pipx ensurepath" in first
    assert "gone at the next restart" in first  # the temporary add-on
    assert "signed by Mozilla" in first and "xpinstall.signatures.required" in first  # release vs ESR
    assert "stays on disk" in first  # Chrome's unpacked folder
    assert "rootsentinel-firefox-0.1.0.xpi" in first


def test_the_tarball_the_ansible_steps_unpack_is_what_make_dist_makes():
    assert package_linux.TARBALL_NAME in ENTERPRISE
    assert "dist-tarball" in re.search(r"^dist: (.*)$", MAKEFILE, re.M).group(1)
    assert f"unarchive: {{src: {package_linux.TARBALL_NAME}, dest: /opt/rootsentinel/}}" in ENTERPRISE
    ansible = ENTERPRISE.split("**Ansible-style steps**", 1)[1].split("Scan and heartbeat", 1)[0]
    assert "--extension-id" in ansible  # issue 23 item 1: without it Chromium refuses the host


def test_enterprise_documents_crx_key_and_updates_xml():
    section = ENTERPRISE.split("### 0.1 The self-hosted CRX3", 1)[1].split("\n## ", 1)[0]
    assert "updates.xml" in section and "same* key" in section and "--extension-id" in section
    for target in ("dist-crx", "dist-deb", "dist-rollout"):
        assert target in re.search(r"^dist: (.*)$", MAKEFILE, re.M).group(1)


def test_the_uninstall_section_shows_the_policies_the_command_prints():
    section = ENTERPRISE.split("## 8. Uninstall: decommission a fleet", 1)[1]
    ff = decommission_policy("firefox")["policies"]
    assert json.dumps(ff["ExtensionSettings"]).replace(" ", "").replace('"', "") in \
        section.replace(" ", "").replace('"', "").replace("→", "")
    assert '"installation_mode": "removed"' in section and "ExtensionInstallBlocklist" in section
    assert "apt purge rootsentinel" in section
