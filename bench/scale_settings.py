"""Loupe's settings with one tenant app more: the throwaway app whose migration the scale
bench applies to every tenant and takes back (bench/scale_migration.py writes it to a
temporary folder it puts on the path; nothing of it stays in the repository)."""

from bench.scale_migration import APP
from loupe.settings import *  # noqa: F403
from loupe.settings import INSTALLED_APPS, TENANT_APPS

TENANT_APPS = [*TENANT_APPS, APP]
INSTALLED_APPS = [*INSTALLED_APPS, APP]
