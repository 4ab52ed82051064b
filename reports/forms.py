"""The report request form of the admin Reports page."""

from django import forms
from django.utils import timezone

from inventory.models import Channel, Region
from reports.models import ReportFormat, ReportKind


class ReportRequestForm(forms.Form):
    kind = forms.ChoiceField(label="Report", choices=ReportKind.choices)
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    region = forms.ChoiceField(required=False)
    channel = forms.ChoiceField(required=False)
    format = forms.ChoiceField(choices=ReportFormat.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", "All regions")] + [
            (code, code) for code in Region.objects.values_list("code", flat=True)]
        self.fields["channel"].choices = [("", "All channels")] + [
            (code, code) for code in Channel.objects.values_list("code", flat=True)]
        today = timezone.localdate()
        self.fields["end"].initial = today
        self.fields["start"].initial = today.replace(day=1)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The end is before the start.")
        return data
