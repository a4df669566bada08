from django.urls import path

from apps.slices.api import views

urlpatterns = [
    path("search/", views.SearchView.as_view(), name="search"),
    path("search/count/", views.SearchCountView.as_view(), name="search-count"),
    path("search/facets/", views.SearchFacetsView.as_view(), name="search-facets"),
    path("search/fields/", views.SearchFieldsView.as_view(), name="search-fields"),
    path("slices/", views.SliceListView.as_view(), name="slice-list"),
    path("slices/<int:slice_id>/", views.SliceDetailView.as_view(), name="slice-detail"),
    path("slices/<int:slice_id>/rows/", views.SliceRowsView.as_view(), name="slice-rows"),
    path("slices/<int:slice_id>/count/", views.SliceCountView.as_view(), name="slice-count"),
    path(
        "slices/<int:slice_id>/snapshots/", views.SnapshotListView.as_view(), name="snapshot-list"
    ),
    path(
        "slices/<int:slice_id>/snapshots/<int:number>/",
        views.SnapshotDetailView.as_view(),
        name="snapshot-detail",
    ),
    path(
        "slices/<int:slice_id>/snapshots/<int:number>/rows/",
        views.SnapshotRowsView.as_view(),
        name="snapshot-rows",
    ),
]
