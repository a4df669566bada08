"""Object storage: where media, uploaded import files, checkpoints and models live (files
under MEDIA_ROOT, or a bucket of an S3-compatible store), every name starting with the
tenant's schema. docs/storage.md says how to choose; config.py turns the settings into
Django's STORAGES, backends.py holds the two backends, files.py what the platform does with
them beyond Django's Storage API."""
