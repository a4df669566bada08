"""Bringing a model's own predictions from a file, and exporting a version's."""

from django.urls import path

from apps.predictions.api import file_views

urlpatterns = [
    path(
        "prediction-imports/",
        file_views.PredictionImportListView.as_view(),
        name="prediction-import-list",
    ),
    path(
        "prediction-imports/<int:job_id>/",
        file_views.PredictionImportDetailView.as_view(),
        name="prediction-import-detail",
    ),
    path(
        "model-versions/<int:version_id>/predictions/export",
        file_views.PredictionExportView.as_view(),
        name="model-version-prediction-export",
    ),
]
