from django.urls import path

from apps.jobs.api import views

urlpatterns = [
    path("jobs/", views.JobListView.as_view(), name="job-list"),
]
