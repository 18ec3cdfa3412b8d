"""``python -m native_host``: same as the ``rootsentinel`` console script."""

from native_host.cli import main

raise SystemExit(main())
