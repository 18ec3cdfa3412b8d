"""Entry script of the PyInstaller bundle (build/rootsentinel-host.spec): the ``rootsentinel`` CLI.

A host manifest names the bundle's executable directly: browsers start it with their own arguments only
(Firefox: the manifest path and the add-on id; Chrome: ``chrome-extension://<id>/``, on Windows also
``--parent-window=``), which :func:`native_host.cli.main` recognises and answers as ``host``. With a verb it is
the whole CLI (``rootsentinel-host check``, ``scan``, ``install`` ...).
"""

from native_host.cli import main

raise SystemExit(main())
