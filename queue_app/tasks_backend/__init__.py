"""jobqueue as a backend for Django's tasks framework (`django.tasks` or the `django-tasks` backport).

    compat.py    the framework's names, from `django.tasks` (Django 6) or `django_tasks` (backport)
    owner.py     which user owns (and is charged quota for) an enqueued task
    enqueue.py   Task + args -> an ordinary job: JSON check, priority mapping, retry budget
    results.py   a job and its attempts -> TaskResult (the status mapping lives here)
    resolver.py  lets the registry (and so `runworker`) find `@task` functions by module path
    execute.py   the worker side: build the context, send task_started/task_finished, run the function

The backend class itself is `queue_app.backends.JobQueueBackend`; see docs/django-tasks.md.
"""
