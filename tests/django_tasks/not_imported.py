"""Never imported by a task lookup: it is outside the allowed task modules (the resolver test checks)."""
from django_tasks import task


@task
def hidden():
    return "hidden"
