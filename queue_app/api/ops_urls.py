"""Operations routes under /api/: queues and their pause state (staff)."""
from django.urls import path

from queue_app.api import queues

urlpatterns = [
    path("queues/", queues.QueueListView.as_view(), name="api-queues"),
    path("queues/<str:name>/pause/", queues.QueuePauseView.as_view(), name="api-queue-pause"),
    path("queues/<str:name>/resume/", queues.QueueResumeView.as_view(), name="api-queue-resume"),
]
