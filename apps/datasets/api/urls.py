from django.urls import path

from apps.datasets.api import views

urlpatterns = [
    path("datasets/", views.DatasetListView.as_view(), name="dataset-list"),
    path("datasets/<int:dataset_id>/", views.DatasetDetailView.as_view(), name="dataset-detail"),
    path("datasets/<int:dataset_id>/rows/", views.DataRowListView.as_view(), name="datarow-list"),
    path("datasets/<int:dataset_id>/imports/", views.ImportListView.as_view(), name="import-list"),
    path("datasets/<int:dataset_id>/export", views.ExportView.as_view(), name="dataset-export"),
    path("rows/<int:row_id>/", views.DataRowDetailView.as_view(), name="datarow-detail"),
    path(
        "rows/<int:row_id>/annotations/", views.AnnotationListView.as_view(), name="annotation-list"
    ),
    path(
        "annotations/<int:annotation_id>/",
        views.AnnotationDetailView.as_view(),
        name="annotation-detail",
    ),
    path("imports/<int:job_id>/", views.ImportDetailView.as_view(), name="import-detail"),
    path("imports/<int:job_id>/events/", views.ImportEventsView.as_view(), name="import-events"),
]
