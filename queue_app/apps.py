from importlib import import_module

from django.apps import AppConfig
from django.conf import settings


class QueueAppConfig(AppConfig):
    name = "queue_app"
    verbose_name = "Job queue"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from queue_app import (
            checks,  # noqa: F401
            demo_tasks,  # noqa: F401  (registers demo.* tasks)
        )
        from queue_app.tasks_backend import resolver  # noqa: F401  (runs @task functions by module path)

        # Extra task modules named in settings (JOBQUEUE_EXTRA_TASK_MODULES=a.b,c.d) register
        # their handlers in every process: web, worker parents and their forked children.
        for module in settings.JOBQUEUE_EXTRA_TASK_MODULES:
            import_module(module)
