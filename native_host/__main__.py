"""``python -m native_host``: same as the ``rootsentinel`` console script."""

import sys

if sys.argv[1:2] == ["host"] and not {"-h", "--help"} & set(sys.argv):
    # What host manifests launch: skip the CLI module (argparse and every verb) to start faster.
    from native_host.messaging.host import main_from_argv

    raise SystemExit(main_from_argv(sys.argv[1:]))

from native_host.cli import main  # noqa: E402

raise SystemExit(main())
