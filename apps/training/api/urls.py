from django.urls import path

from apps.training.api import views

urlpatterns = [
    path("model-specs/", views.ModelSpecListView.as_view(), name="model-spec-list"),
    path("training-runs/", views.TrainingRunListView.as_view(), name="training-run-list"),
    path(
        "training-runs/<int:run_id>/",
        views.TrainingRunDetailView.as_view(),
        name="training-run-detail",
    ),
    path(
        "training-runs/<int:run_id>/cancel/",
        views.TrainingRunCancelView.as_view(),
        name="training-run-cancel",
    ),
    path(
        "training-runs/<int:run_id>/events/",
        views.TrainingRunEventsView.as_view(),
        name="training-run-events",
    ),
    path(
        "training-runs/<int:run_id>/metrics/",
        views.TrainingRunMetricsView.as_view(),
        name="training-run-metrics",
    ),
    # An experiment's name may hold a "/": path, not str.
    path(
        "experiments/<path:name>/compare/",
        views.ExperimentCompareView.as_view(),
        name="experiment-compare",
    ),
    path("models/", views.ModelListView.as_view(), name="model-list"),
    path("models/<str:name>/", views.ModelDetailView.as_view(), name="model-detail"),
    path(
        "models/<str:name>/versions/",
        views.ModelVersionListView.as_view(),
        name="model-version-list",
    ),
    path(
        "model-versions/<int:version_id>/",
        views.ModelVersionDetailView.as_view(),
        name="model-version-detail",
    ),
]
