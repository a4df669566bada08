"""The settings and mapping of a tenant's data-row index.

Metadata and annotation attributes are free-form JSON. Mapping their keys as fields would
grow the mapping with every new key (and clash where one key holds a number on one row and
a string on the next), so each is a nested array of entries instead: one per key path,
holding the value under a field named for its JSON type (see documents.py). A condition on
a path is then a `nested` query on the `key` and one typed field, matched in one entry.

The words that `~` searches are split and lower-cased in Python, by the very function that
splits a query's pattern (tree.words_of), and stored beside each string as keywords
(`external_id_words`, `class_words`, `model_words`, `words` in an entry). An analyzer could
not promise the same words, and the Elasticsearch that development and tests run has no
pattern tokenizer.

A row's document carries its predictions, every version's, as it carries its annotations:
one nested object per predicted object. Each nested object is a hidden Lucene document, and
an index takes at most MAX_NESTED_OBJECTS of them per row (metadata entries, annotations,
their attribute entries and predicted objects together); Elasticsearch refuses a document
past that, and the drainer records the row (search.models.IndexFailure).

The mapping only ever grows: indexes made before a field was added get it in place
(indexes.ensure_current_mapping), since Elasticsearch adds a field to a live mapping but
never changes one. A change to a field already mapped needs a reindex.
"""

from __future__ import annotations

# Lucene refuses a term over 32766 bytes (and with it the whole document); a character
# takes at most four bytes in UTF-8. Longer strings stay in the source but are not indexed.
MAX_TERM_CHARS = 8191
# `index.mapping.nested_objects.limit`, Elasticsearch's default, set explicitly: the
# documented limit of a row (docs/query-language.md) stays put whatever the version's default.
MAX_NESTED_OBJECTS = 10_000


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
            "mapping.nested_objects.limit": MAX_NESTED_OBJECTS,
        },
        "mappings": mappings(),
    }


def mappings() -> dict:
    """The mapping of a data-row index, as `indices.create` and `indices.put_mapping`
    take it."""
    return {
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
            # A score, area, verdict or IoU may be null: Elasticsearch indexes nothing for
            # it, so a condition on it does not match (and its NOT does), as in Postgres.
            "predictions": {
                "type": "nested",
                "properties": {
                    "model": _keyword(),
                    "model_words": _keyword(),
                    "version": {"type": "double"},
                    "class": _keyword(),
                    "class_words": _keyword(),
                    "score": {"type": "double"},
                    "rank": {"type": "double"},
                    "area": {"type": "double"},
                    "eval": _keyword(),
                    "iou": {"type": "double"},
                },
            },
        },
    }
