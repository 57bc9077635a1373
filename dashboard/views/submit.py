"""Submit: a form over lifecycle.submit(); server-side errors land next to their fields."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from dashboard.forms import SubmitForm
from queue_app import lifecycle, registry
from queue_app.errors import QueueError, ValidationFailed


@login_required
def submit(request):
    form = SubmitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v is not None}
        if not data.get("delay_seconds"):
            data.pop("delay_seconds", None)
        try:
            result = lifecycle.submit(request.user, **data)
        except ValidationFailed as exc:
            for field, errors in exc.fields.items():
                form.add_error(field if field in form.fields else None, errors)
        except QueueError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Submitted {result.job.task}.")
            return redirect("dashboard:job", job_id=result.job.pk)
    tasks = [{"name": t.name, "description": t.description} for t in registry.registered()]
    status = 400 if request.method == "POST" else 200
    return render(request, "dashboard/submit.html", {"form": form, "tasks": tasks}, status=status)
