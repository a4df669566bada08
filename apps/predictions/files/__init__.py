"""A model's own predictions brought from a file (JSONL or COCO results) into a dataset under
a model version, and a version's predictions exported in the same formats.

The parsers (jsonl.py, coco_results.py) are pure, as the dataset importers are; grouping.py
sorts a file's records by the row they name in a scratch database; runs.py writes them a
batch of rows at a time; imports.py accepts a file; exports.py streams one back.
"""
