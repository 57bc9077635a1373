"""The submit form: fields mirror lifecycle.submit(); the payload is a JSON object."""
import json

from django import forms

from queue_app import registry


class SubmitForm(forms.Form):
    task = forms.ChoiceField()
    queue = forms.CharField(max_length=64, initial="default")
    priority = forms.IntegerField(initial=0, min_value=-1000, max_value=1000)
    delay_seconds = forms.FloatField(required=False, min_value=0, label="Delay (seconds)")
    max_retries = forms.IntegerField(required=False, min_value=0, help_text="Blank: the default.")
    timeout_seconds = forms.IntegerField(required=False, min_value=1, label="Timeout (seconds)",
                                         help_text="Blank: the default.")
    payload = forms.CharField(widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false",
                                                           "data-json": "object"}),
                              initial="{}", help_text="A JSON object.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["task"].choices = [(t.name, t.name) for t in registry.registered()]

    def clean_payload(self) -> dict:
        raw = self.cleaned_data["payload"].strip() or "{}"
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") \
                from None
        if not isinstance(value, dict):
            raise forms.ValidationError("The payload must be a JSON object, like {\"seconds\": 2}.")
        return value
