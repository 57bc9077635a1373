"""API routes."""
from django.urls import include, path

urlpatterns = [
    path("", include("queue_app.api.ops_urls")),
]
