"""`python -m loupe_client.cli`, the same as the `loupe` script."""

from loupe_client.cli.app import main

main()
