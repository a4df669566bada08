"""The REST API's settings (DRF and the OpenAPI document), plain data that settings.py
imports: nothing here reads the environment."""

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenants.identity.drf.IdentityAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.permissions.TenantRolePermission"],
    # Bodies are JSON; the uploads (imports, prediction files) name their multipart parsers.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "loupe.api.renderers.JsonRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "loupe.api.schema.LoupeAutoSchema",
    "EXCEPTION_HANDLER": "loupe.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 100,
    # `?format=` names export and import formats here, not DRF renderers.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Loupe API",
    "DESCRIPTION": "Multi-tenant MLOps for computer-vision data teams.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "loupe.api.schema.describe_websockets",
    ],
    # Choice sets that share a field name across components, named for what they are.
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "apps.jobs.models.JobStatus",
        "ImportStatusEnum": "apps.datasets.models.ImportStatus",
        "AnnotationSourceEnum": ["human", "model"],
        "PredictionSourceEnum": "apps.predictions.models.PredictionSource",
    },
}
