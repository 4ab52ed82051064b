"""CSV and XLSX exports on the admin lists finance works from, honouring filters and search.

The lists belong to lower apps (orders, promises, workflow, notifications) that may not import
reports, so, as promises/admin.py does for the purchase order, the export-enabled admin of each
is registered from here: a subclass of the app's own admin (its filters, search, actions and
list_select_related unchanged) with the export mixin and its resource. Export only, no import;
whoever holds the model's view permission may export (IMPORT_EXPORT_EXPORT_PERMISSION_CODE).
"""

from django.contrib import admin
from import_export.admin import ExportMixin

from notifications.admin import NoticeAdmin
from notifications.models import Notice
from orders.admin import CancellationAdmin
from orders.models import Cancellation, OrderLine
from promises.admin import OrderLineAdmin
from promises.models import OrderException
from reports.resources import (
    CancellationResource,
    NoticeResource,
    OrderExceptionResource,
    OrderLineResource,
)
from workflow.admin import OrderExceptionAdmin


class CancellationExportAdmin(ExportMixin, CancellationAdmin):
    resource_classes = [CancellationResource]


class OrderLineExportAdmin(ExportMixin, OrderLineAdmin):
    resource_classes = [OrderLineResource]


class OrderExceptionExportAdmin(ExportMixin, OrderExceptionAdmin):
    resource_classes = [OrderExceptionResource]


class NoticeExportAdmin(ExportMixin, NoticeAdmin):
    resource_classes = [NoticeResource]


for model, model_admin in [(Cancellation, CancellationExportAdmin), (OrderLine, OrderLineExportAdmin),
                           (OrderException, OrderExceptionExportAdmin), (Notice, NoticeExportAdmin)]:
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
