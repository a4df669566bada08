"""The `loupe` command line: the SDK's calls for a shell, with `--json` output for scripts
and exit codes that say what failed (exit_codes.py)."""
