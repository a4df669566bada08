#!/usr/bin/env python
"""Django's command-line utility for Loupe."""

import os
import sys
from pathlib import Path


def main() -> None:
    # The configuration package lives in platform/, which is not itself a package:
    # `import platform` must keep giving the standard library.
    sys.path.insert(0, str(Path(__file__).resolve().parent / "platform"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loupe.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
