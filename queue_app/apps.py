from django.apps import AppConfig


class QueueAppConfig(AppConfig):
    name = "queue_app"
    verbose_name = "Job queue"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from queue_app import (
            checks,  # noqa: F401
            demo_tasks,  # noqa: F401  (registers demo.* tasks)
        )
