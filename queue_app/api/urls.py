"""API routes: jobs, stats, quota, tasks, the OpenAPI schema and Swagger UI; operations routes from ops_urls."""
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from queue_app.api import views

router = SimpleRouter()
router.register("jobs", views.JobViewSet, basename="job")

urlpatterns = [
    path("", include(router.urls)),
    path("stats/", views.StatsView.as_view(), name="api-stats"),
    path("quota/", views.QuotaView.as_view(), name="api-quota"),
    path("tasks/", views.TasksView.as_view(), name="api-tasks"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("queue_app.api.ops_urls")),
]
