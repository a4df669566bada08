"""The settings and mapping of a tenant's data-row index.

Metadata and annotation attributes are free-form JSON. Mapping their keys as fields would
grow the mapping with every new key (and clash where one key holds a number on one row and
a string on the next), so each is a nested array of entries instead: one per key path,
holding the value under a field named for its JSON type (see documents.py). A condition on
a path is then a `nested` query on the `key` and one typed field, matched in one entry.

The words that `~` searches are split and lower-cased in Python, by the very function that
splits a query's pattern (tree.words_of), and stored beside each string as keywords
(`external_id_words`, `class_words`, `words` in an entry). An analyzer could not promise the
same words, and the Elasticsearch that development and tests run has no pattern tokenizer.
"""

from __future__ import annotations

# Lucene refuses a term over 32766 bytes (and with it the whole document); a character
# takes at most four bytes in UTF-8. Longer strings stay in the source but are not indexed.
MAX_TERM_CHARS = 8191


def _keyword() -> dict:
    return {"type": "keyword", "ignore_above": MAX_TERM_CHARS}


def _json_entries() -> dict:
    """One entry per key path of a JSON object; `key` alone says the path exists."""
    return {
        "type": "nested",
        "properties": {
            "key": _keyword(),
            "str": _keyword(),
            "words": _keyword(),
            "num": {"type": "double"},
            "bool": {"type": "boolean"},
            # The whole string, where it begins with YYYY-MM-DD: dates compare as strings.
            "date": _keyword(),
        },
    }


def index_body() -> dict:
    """The body of the `indices.create` call for one tenant's data-row index."""
    return {
        "settings": {
            "number_of_shards": 1,
            "number_of_replicas": 0,
        },
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "id": {"type": "long"},
                "dataset": {"type": "long"},
                "project": {"type": "long"},
                "external_id": _keyword(),
                "external_id_words": _keyword(),
                # Doubles: an integer field refuses a bound beyond its range (width < 1e10),
                # and the query language compares numbers as doubles anyway.
                "width": {"type": "double"},
                "height": {"type": "double"},
                # Nanoseconds, so that an instant compares as exactly as in Postgres
                # (microseconds); `date` would round it to milliseconds.
                "created_at": {"type": "date_nanos"},
                "updated_at": {"type": "date_nanos"},
                "tags": _keyword(),
                "metadata": _json_entries(),
                "annotations": {
                    "type": "nested",
                    "properties": {
                        "class": _keyword(),
                        "class_words": _keyword(),
                        "area": {"type": "double"},
                        "source": _keyword(),
                        "type": _keyword(),
                        "attributes": _json_entries(),
                    },
                },
            },
        },
    }
