"""Dashboard routes: pages are GETs (htmx polls the same URLs for their live region); actions are POSTs."""
from django.urls import path

from dashboard.views import dlq, jobs, overview, queues, submit, workers

app_name = "dashboard"

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("jobs/", jobs.job_list, name="jobs"),
    path("jobs/<uuid:job_id>/", jobs.job_detail, name="job"),
    path("jobs/<uuid:job_id>/cancel/", jobs.job_cancel, name="job-cancel"),
    path("jobs/<uuid:job_id>/retry/", jobs.job_retry, name="job-retry"),
    path("submit/", submit.submit, name="submit"),
    path("dlq/", dlq.dlq, name="dlq"),
    path("dlq/action/", dlq.dlq_action, name="dlq-action"),
    path("workers/", workers.workers, name="workers"),
    path("queues/", queues.queues, name="queues"),
    path("queues/<str:name>/pause/", queues.queue_pause, name="queue-pause"),
    path("queues/<str:name>/resume/", queues.queue_resume, name="queue-resume"),
]
