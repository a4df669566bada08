"""What the platform does with stored files beyond Django's Storage API, on the configured
storage (or the one given): read one through a local path, replace one, delete some or a
whole folder. Code that needs a path (torch.load, zipfile, the importers) goes through
local_copy, which costs nothing on local storage and downloads once from a bucket."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import AbstractContextManager

from django.core.files.storage import Storage, default_storage
from django.db import transaction

logger = logging.getLogger(__name__)


def local_copy(name: str, *, storage: Storage | None = None) -> AbstractContextManager[str]:
    """A local path holding the stored file `name` for the duration of the block: the file
    itself on local storage, a temporary download otherwise. Raises FileNotFoundError for
    a file that is not there."""
    return (storage or default_storage).local_copy(name)


def overwrite(name: str, content) -> str:
    """Store `content` at `name` exactly, replacing what is there; the name stored."""
    return default_storage.overwrite(name, content)


def delete_prefix(prefix: str) -> None:
    """Delete every stored file under `prefix`, a folder's name ending in "/"."""
    default_storage.delete_prefix(prefix)


def size_of_prefix(prefix: str) -> int:
    """The bytes of every stored file under `prefix`, a folder's name ending in "/"."""
    return default_storage.size_of_prefix(prefix)


def delete_files(names: Iterable[str]) -> None:
    """Delete stored files, as a cleanup: a file that cannot be deleted (storage down, say)
    is logged and left, and never fails what the cleanup follows."""
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:
            logger.warning("stored file not deleted", extra={"file": name}, exc_info=True)


def delete_on_commit(*, names: Iterable[str] = (), prefixes: Iterable[str] = ()) -> None:
    """Once the current transaction commits (at once outside one), delete the files and
    folders, as cleanups (see delete_files); nothing for a rollback."""
    names, prefixes = list(names), list(prefixes)

    def delete() -> None:
        delete_files(names)
        for prefix in prefixes:
            try:
                delete_prefix(prefix)
            except Exception:
                logger.warning("stored folder not deleted", extra={"prefix": prefix}, exc_info=True)

    transaction.on_commit(delete, using="default")
