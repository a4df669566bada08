from django.urls import path

from apps.predictions.api import views

urlpatterns = [
    path(
        "rows/<int:row_id>/predictions/",
        views.RowPredictionListView.as_view(),
        name="row-prediction-list",
    ),
    path("inference-runs/", views.InferenceRunListView.as_view(), name="inference-run-list"),
    path(
        "inference-runs/<int:run_id>/",
        views.InferenceRunDetailView.as_view(),
        name="inference-run-detail",
    ),
    path(
        "inference-runs/<int:run_id>/cancel/",
        views.InferenceRunCancelView.as_view(),
        name="inference-run-cancel",
    ),
    path(
        "inference-runs/<int:run_id>/events/",
        views.InferenceRunEventsView.as_view(),
        name="inference-run-events",
    ),
    path("evaluations/", views.EvaluationListView.as_view(), name="evaluation-list"),
    path(
        "evaluations/<int:evaluation_id>/",
        views.EvaluationDetailView.as_view(),
        name="evaluation-detail",
    ),
    path(
        "evaluations/<int:evaluation_id>/events/",
        views.EvaluationEventsView.as_view(),
        name="evaluation-events",
    ),
    path("models/<str:name>/compare/", views.ModelCompareView.as_view(), name="model-compare"),
]
